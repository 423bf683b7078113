#include "server/store/job_transitions.h"

#include <absl/strings/str_cat.h>

namespace aves::store {

bool IsFinalJobStatus(absl::string_view status) {
  return status == "completed" || status == "failed" || status == "cancelled";
}

absl::Status CheckJobTransition(absl::string_view from, absl::string_view to) {
  if (IsFinalJobStatus(from)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the job is ", from, ", a final status: it can no longer ",
                     from == to ? "change" : absl::StrCat("become ", to)));
  }
  if (from == to) return absl::OkStatus();
  if (to == "pending") {
    return absl::FailedPreconditionError(
        absl::StrCat("the job is ", from, ": it cannot go back to pending"));
  }
  return absl::OkStatus();
}

}  // namespace aves::store
