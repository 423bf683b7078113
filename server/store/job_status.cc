#include "server/store/job_status.h"

#include <absl/strings/str_cat.h>

namespace aves::store {

const char* JobStatusName(JobStatus status) {
  switch (status) {
    case JobStatus::kPending:
      return "pending";
    case JobStatus::kProcessing:
      return "processing";
    case JobStatus::kCompleted:
      return "completed";
    case JobStatus::kFailed:
      return "failed";
    case JobStatus::kCancelled:
      return "cancelled";
  }
  return "?";
}

std::optional<JobStatus> ParseJobStatus(absl::string_view text) {
  for (JobStatus status : kAllJobStatuses) {
    if (text == JobStatusName(status)) return status;
  }
  return std::nullopt;
}

bool IsFinalJobStatus(JobStatus status) {
  return status == JobStatus::kCompleted || status == JobStatus::kFailed ||
         status == JobStatus::kCancelled;
}

absl::Status CheckJobTransition(JobStatus from, JobStatus to) {
  if (IsFinalJobStatus(from)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the job is ", JobStatusName(from),
        ", a final status: it can no longer ",
        from == to ? "change" : absl::StrCat("become ", JobStatusName(to))));
  }
  if (from == to) return absl::OkStatus();
  if (to == JobStatus::kPending) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the job is ", JobStatusName(from), ": it cannot go back to pending"));
  }
  return absl::OkStatus();
}

}  // namespace aves::store
