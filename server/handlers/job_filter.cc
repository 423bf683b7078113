#include "server/handlers/job_filter.h"

#include <algorithm>
#include <iterator>
#include <set>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>

#include "server/common/status_macros.h"
#include "server/common/validation.h"
#include "server/handlers/proto_convert.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;

namespace {

template <typename Request>
absl::StatusOr<JobFilter> Validate(const Request& request) {
  JobFilter filter;
  std::set<store::JobStatus> statuses;
  for (int i = 0; i < request.statuses_size(); ++i) {
    ASSIGN_OR_RETURN(
        const store::JobStatus status,
        JobStatusFromProto(absl::StrCat("statuses[", i, "]"),
                           static_cast<v1::JobStatus>(request.statuses(i))));
    statuses.insert(status);
  }
  if (statuses.empty()) {
    statuses.insert(std::begin(store::kAllJobStatuses),
                    std::end(store::kAllJobStatuses));
  }
  filter.statuses.assign(statuses.begin(), statuses.end());
  if (request.has_job_type()) {
    RETURN_IF_ERROR(common::ValidateText("job_type", request.job_type(),
                                         JobFilter::kMaxJobTypeBytes, true));
    filter.job_type = request.job_type();
  }
  return filter;
}

}  // namespace

bool JobFilter::Matches(const store::JobChange& change) const {
  if (job_type.has_value() && change.job.job_type != *job_type) return false;
  auto watched = [this](store::JobStatus status) {
    return std::binary_search(statuses.begin(), statuses.end(), status);
  };
  return watched(change.job.status) ||
         (change.old_status.has_value() && watched(*change.old_status));
}

std::string JobFilter::Key() const {
  std::vector<std::string> names;
  for (store::JobStatus status : statuses)
    names.push_back(store::JobStatusName(status));
  std::sort(names.begin(), names.end());
  return absl::StrCat(absl::StrJoin(names, ","), "/",
                      job_type.has_value() ? "=" + *job_type : "*");
}

absl::StatusOr<JobFilter> JobFilterOf(const v1::ListJobsRequest& request) {
  return Validate(request);
}

absl::StatusOr<JobFilter> JobFilterOf(const v1::WatchJobsRequest& request) {
  return Validate(request);
}

}  // namespace aves::handlers
