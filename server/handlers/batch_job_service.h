// BatchJobService: validate -> JobStore -> proto, on the callback API with
// store work on the executor (see offload.h). Lists page by keyset tokens.
// WatchJobs streams from the shared JobFeed (one LISTEN connection for all
// watchers); each watcher has a bounded queue of events.
#ifndef AVES_SERVER_HANDLERS_BATCH_JOB_SERVICE_H_
#define AVES_SERVER_HANDLERS_BATCH_JOB_SERVICE_H_

#include <cstddef>

#include <absl/status/status.h>
#include <absl/time/time.h>

#include "aves/data/v1/batch_jobs.grpc.pb.h"
#include "server/common/executor.h"
#include "server/handlers/page_token.h"
#include "server/store/job_feed.h"
#include "server/store/job_store.h"

namespace aves::handlers {

class BatchJobServiceImpl final
    : public aves::data::v1::BatchJobService::CallbackService {
 public:
  // Limits of the request fields (batch_jobs.proto).
  static constexpr size_t kMaxJobTypeBytes = 100;
  static constexpr size_t kMaxMetadataBytes = 1 << 20;
  static constexpr int kMaxErrorsPerCall = 1000;
  static constexpr size_t kMaxErrorMessageBytes = 10'000;
  static constexpr size_t kMaxItemIdBytes = 500;

  struct WatchOptions {
    // Events a watcher may have waiting to be sent; one more and the watcher
    // is dropped with RESOURCE_EXHAUSTED, so a slow reader costs bounded
    // memory.
    size_t max_queued_events = 1000;
  };

  BatchJobServiceImpl(store::JobStore& store, store::JobFeed& feed,
                      common::Executor& executor, const PageTokenCodec& tokens,
                      absl::Duration slow_rpc, WatchOptions watch)
      : store_(store),
        feed_(feed),
        executor_(executor),
        tokens_(tokens),
        slow_rpc_(slow_rpc),
        watch_(watch) {}

  grpc::ServerUnaryReactor* ListJobs(
      grpc::CallbackServerContext* context,
      const aves::data::v1::ListJobsRequest* request,
      aves::data::v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* GetJob(
      grpc::CallbackServerContext* context,
      const aves::data::v1::GetJobRequest* request,
      aves::data::v1::GetJobResponse* response) override;
  grpc::ServerUnaryReactor* ListJobErrors(
      grpc::CallbackServerContext* context,
      const aves::data::v1::ListJobErrorsRequest* request,
      aves::data::v1::ListJobErrorsResponse* response) override;
  grpc::ServerUnaryReactor* CreateJob(
      grpc::CallbackServerContext* context,
      const aves::data::v1::CreateJobRequest* request,
      aves::data::v1::CreateJobResponse* response) override;
  grpc::ServerUnaryReactor* UpdateJobProgress(
      grpc::CallbackServerContext* context,
      const aves::data::v1::UpdateJobProgressRequest* request,
      aves::data::v1::UpdateJobProgressResponse* response) override;
  grpc::ServerUnaryReactor* AppendJobErrors(
      grpc::CallbackServerContext* context,
      const aves::data::v1::AppendJobErrorsRequest* request,
      aves::data::v1::AppendJobErrorsResponse* response) override;
  grpc::ServerWriteReactor<aves::data::v1::WatchJobsResponse>* WatchJobs(
      grpc::CallbackServerContext* context,
      const aves::data::v1::WatchJobsRequest* request) override;

 private:
  absl::Status DoListJobs(grpc::ServerContextBase* context,
                          const aves::data::v1::ListJobsRequest& request,
                          aves::data::v1::ListJobsResponse* response,
                          int64_t* rows);
  absl::Status DoListJobErrors(
      grpc::ServerContextBase* context,
      const aves::data::v1::ListJobErrorsRequest& request,
      aves::data::v1::ListJobErrorsResponse* response, int64_t* rows);
  absl::Status DoUpdateJobProgress(
      grpc::ServerContextBase* context,
      const aves::data::v1::UpdateJobProgressRequest& request,
      aves::data::v1::UpdateJobProgressResponse* response);
  absl::Status DoAppendJobErrors(
      grpc::ServerContextBase* context,
      const aves::data::v1::AppendJobErrorsRequest& request,
      aves::data::v1::AppendJobErrorsResponse* response);

  store::JobStore& store_;
  store::JobFeed& feed_;
  common::Executor& executor_;
  const PageTokenCodec& tokens_;
  const absl::Duration slow_rpc_;
  const WatchOptions watch_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_BATCH_JOB_SERVICE_H_
