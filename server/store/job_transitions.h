// The life of a batch job, as one rule both the store and its tests use:
//   pending    -> processing | completed | failed | cancelled
//   processing -> completed | failed | cancelled
//   completed, failed, cancelled: final; nothing changes them any more.
// Staying in the same non-final status is allowed (a progress update).
#ifndef AVES_SERVER_STORE_JOB_TRANSITIONS_H_
#define AVES_SERVER_STORE_JOB_TRANSITIONS_H_

#include <absl/status/status.h>
#include <absl/strings/string_view.h>

namespace aves::store {

bool IsFinalJobStatus(absl::string_view status);

// OK, or FAILED_PRECONDITION saying why `from` cannot become `to`.
absl::Status CheckJobTransition(absl::string_view from, absl::string_view to);

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_JOB_TRANSITIONS_H_
