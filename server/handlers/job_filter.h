// JobFilter: what ListJobs and WatchJobs select — a set of statuses (none
// given: all) and an optional job type — validated from either request.
#ifndef AVES_SERVER_HANDLERS_JOB_FILTER_H_
#define AVES_SERVER_HANDLERS_JOB_FILTER_H_

#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>

#include "aves/data/v1/batch_jobs.pb.h"
#include "server/store/job_feed.h"
#include "server/store/job_status.h"

namespace aves::handlers {

struct JobFilter {
  // Limit of the job_type field (batch_jobs.proto).
  static constexpr size_t kMaxJobTypeBytes = 100;

  std::vector<store::JobStatus> statuses;  // sorted, unique, never empty
  std::optional<std::string> job_type;

  // A job leaving a watched status is reported once more, so a dashboard of
  // active jobs sees it finish.
  bool Matches(const store::JobChange& change) const;

  // Binds page tokens to the filter.
  std::string Key() const;
};

absl::StatusOr<JobFilter> JobFilterOf(
    const aves::data::v1::ListJobsRequest& request);
absl::StatusOr<JobFilter> JobFilterOf(
    const aves::data::v1::WatchJobsRequest& request);

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_JOB_FILTER_H_
