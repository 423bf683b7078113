// The life of a batch job: its statuses, their text in the schema, and the
// one transition rule every writer of batch_jobs obeys (JobStore applies it;
// bulk loads write their jobs through JobStore):
//   pending    -> processing | completed | failed | cancelled
//   processing -> completed | failed | cancelled
//   completed, failed, cancelled: final; nothing changes them any more.
// Staying in the same non-final status is allowed (a progress update).
#ifndef AVES_SERVER_STORE_JOB_STATUS_H_
#define AVES_SERVER_STORE_JOB_STATUS_H_

#include <optional>

#include <absl/status/status.h>
#include <absl/strings/string_view.h>

namespace aves::store {

enum class JobStatus { kPending, kProcessing, kCompleted, kFailed, kCancelled };

// Every status, in the order above.
inline constexpr JobStatus kAllJobStatuses[] = {
    JobStatus::kPending, JobStatus::kProcessing, JobStatus::kCompleted,
    JobStatus::kFailed, JobStatus::kCancelled};

// The schema's text: "pending", "processing", ...
const char* JobStatusName(JobStatus status);
// The status named `text`; nullopt for any other text.
std::optional<JobStatus> ParseJobStatus(absl::string_view text);

bool IsFinalJobStatus(JobStatus status);

// OK, or FAILED_PRECONDITION saying why `from` cannot become `to`.
absl::Status CheckJobTransition(JobStatus from, JobStatus to);

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_JOB_STATUS_H_
