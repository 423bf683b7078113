// BatchJobClient: typed calls of aves.data.v1.BatchJobService. Reads are
// retried on UNAVAILABLE; writes (create, progress, errors) never are, since
// a lost reply leaves their outcome unknown.
#ifndef AVES_CLIENT_LIB_BATCH_JOB_CLIENT_H_
#define AVES_CLIENT_LIB_BATCH_JOB_CLIENT_H_

#include <functional>
#include <memory>
#include <mutex>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "aves/data/v1/batch_jobs.grpc.pb.h"
#include "client/lib/call.h"

namespace aves::client {

class BatchJobClient {
 public:
  explicit BatchJobClient(std::shared_ptr<grpc::Channel> channel,
                          CallOptions options = {});

  absl::StatusOr<data::v1::ListJobsResponse> ListJobs(
      const data::v1::ListJobsRequest& request);
  absl::StatusOr<data::v1::Job> GetJob(const std::string& id);
  absl::StatusOr<data::v1::ListJobErrorsResponse> ListJobErrors(
      const data::v1::ListJobErrorsRequest& request);
  absl::StatusOr<data::v1::Job> CreateJob(
      const data::v1::CreateJobRequest& request);
  absl::StatusOr<data::v1::Job> UpdateJobProgress(
      const data::v1::UpdateJobProgressRequest& request);
  absl::StatusOr<int64_t> AppendJobErrors(
      const data::v1::AppendJobErrorsRequest& request);

  // Streams WatchJobs events to `on_event` (no deadline: a watch lasts) until
  // `on_event` returns false (then OK) or the server ends the stream (its
  // status). Blocks; Cancel() from another thread ends it with CANCELLED.
  absl::Status WatchJobs(
      const data::v1::WatchJobsRequest& request,
      const std::function<bool(const data::v1::WatchJobsResponse&)>& on_event);
  // Cancels the WatchJobs call in progress, if any.
  void CancelWatch();

 private:
  std::unique_ptr<data::v1::BatchJobService::Stub> stub_;
  CallOptions options_;
  std::mutex watch_mutex_;
  grpc::ClientContext* watch_context_ = nullptr;  // guarded by watch_mutex_
};

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_BATCH_JOB_CLIENT_H_
