// WatchJobsReactor: one WatchJobs stream. It subscribes to the shared job
// feed first, so no change is missed between the snapshot's query and the
// live events, then sends the snapshot (read on the executor), then the live
// events; events that arrive during the snapshot wait in the queue behind
// it. One write is in flight; at most `max_events` live events, of at most
// `max_bytes` in all, wait behind it, and one more ends the stream with
// RESOURCE_EXHAUSTED, so a slow reader costs bounded memory and never slows
// the feed or other watchers.
//
// Lifetime: gRPC calls OnDone once Finish and every write completed; the
// snapshot task uses the reactor, so Finish waits for it. Lock order is
// always feed -> reactor: the reactor never calls the feed with its own lock
// held.
#ifndef AVES_SERVER_HANDLERS_WATCH_JOBS_REACTOR_H_
#define AVES_SERVER_HANDLERS_WATCH_JOBS_REACTOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "aves/data/v1/batch_jobs.pb.h"
#include "server/common/executor.h"
#include "server/db/query_metrics.h"
#include "server/handlers/access_log.h"
#include "server/handlers/job_filter.h"
#include "server/store/job_feed.h"
#include "server/store/job_store.h"

namespace aves::handlers {

class WatchJobsReactor final
    : public grpc::ServerWriteReactor<aves::data::v1::WatchJobsResponse>,
      public store::JobFeed::Subscriber {
 public:
  struct Limits {
    size_t max_events;
    size_t max_bytes;
    // Decremented when the stream is done (the service counts watchers).
    std::atomic<int>* open_streams;
    // Incremented when the stream is ended for falling behind.
    std::atomic<uint64_t>* dropped_slow;
  };

  WatchJobsReactor(grpc::CallbackServerContext* context, store::JobStore& store,
                   store::JobFeed& feed, JobFilter filter, int snapshot_size,
                   Limits limits, absl::Duration slow_rpc);

  // Subscribes, then queues the snapshot on `executor`.
  void Start(common::Executor& executor);

  void OnJobChange(const store::JobChange& change) override;
  void OnFeedInterrupted(const absl::Status& why) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void LoadSnapshot();
  void WriteNextLocked();
  // Ends the stream once, dropping whatever is queued; while the snapshot
  // task still runs, Finish waits for it.
  void FinishLocked(grpc::Status status);
  void FinishNowLocked(grpc::Status status);

  grpc::CallbackServerContext* const context_;
  store::JobStore& store_;
  store::JobFeed& feed_;
  const JobFilter filter_;
  const int snapshot_size_;
  const Limits limits_;
  AccessLog log_;
  db::CallStatements snapshot_statements_;  // written by LoadSnapshot

  std::mutex mutex_;
  // (live event?, event) in sending order.
  std::deque<std::pair<bool, aves::data::v1::WatchJobsResponse>> queue_;
  size_t live_queued_ = 0;
  size_t live_queued_bytes_ = 0;
  aves::data::v1::WatchJobsResponse current_;  // the write in flight
  bool writing_ = false;
  bool subscribed_ = false;
  bool snapshot_in_flight_ = false;
  bool snapshot_ready_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> finish_pending_;
  grpc::Status final_status_;
  int64_t sent_ = 0;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_WATCH_JOBS_REACTOR_H_
