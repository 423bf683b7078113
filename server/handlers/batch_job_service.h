// BatchJobService: validate -> JobStore -> proto, each RPC's store work on
// the executor (offload.h). Lists page by keyset tokens. WatchJobs streams
// from the shared JobFeed (one LISTEN connection for all watchers) through a
// WatchJobsReactor per stream.
#ifndef AVES_SERVER_HANDLERS_BATCH_JOB_SERVICE_H_
#define AVES_SERVER_HANDLERS_BATCH_JOB_SERVICE_H_

#include <atomic>
#include <cstddef>

#include "aves/data/v1/batch_jobs.grpc.pb.h"
#include "server/handlers/offload.h"
#include "server/handlers/page_token.h"
#include "server/store/job_feed.h"
#include "server/store/job_store.h"

namespace aves::handlers {

class BatchJobServiceImpl final
    : public aves::data::v1::BatchJobService::CallbackService {
 public:
  // Limits of the request fields (batch_jobs.proto).
  static constexpr size_t kMaxMetadataBytes = 1 << 20;
  static constexpr int kMaxErrorsPerCall = 1000;
  static constexpr size_t kMaxErrorMessageBytes = 10'000;
  static constexpr size_t kMaxItemIdBytes = 500;

  struct WatchOptions {
    // Events a watcher may have waiting to be sent; one more and the watcher
    // is dropped with RESOURCE_EXHAUSTED, so a slow reader costs bounded
    // memory.
    size_t max_queued_events = 1000;
    // The same in bytes: an event carries up to 1 MiB of metadata.
    size_t max_queued_bytes = 8 << 20;
    // Watchers open at once; one more is refused with RESOURCE_EXHAUSTED.
    int max_streams = 1000;
    // A ListJobs page ends early, with a next-page token, before its
    // message would pass this (half of AVES_MAX_MESSAGE_BYTES): a few jobs
    // with 1 MiB of metadata never make every page RESOURCE_EXHAUSTED.
    size_t max_page_bytes = 2 << 20;
  };

  BatchJobServiceImpl(store::JobStore& store, store::JobFeed& feed,
                      HandlerContext handler, const PageTokenCodec& tokens,
                      WatchOptions watch)
      : store_(store),
        feed_(feed),
        handler_(handler),
        tokens_(tokens),
        watch_(watch) {
    RegisterParseChecked();
  }

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

  // For /metrics: WatchJobs streams open now, and ended as too slow.
  int open_watchers() const { return watchers_.load(); }
  uint64_t watchers_dropped_slow() const {
    return watchers_dropped_slow_.load(std::memory_order_relaxed);
  }

 private:
  void RegisterParseChecked();
  store::JobStore& store_;
  store::JobFeed& feed_;
  const HandlerContext handler_;
  const PageTokenCodec& tokens_;
  const WatchOptions watch_;
  // Open WatchJobs streams (each reactor decrements it when done).
  std::atomic<int> watchers_{0};
  // Streams ended for falling behind the feed.
  std::atomic<uint64_t> watchers_dropped_slow_{0};
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_BATCH_JOB_SERVICE_H_
