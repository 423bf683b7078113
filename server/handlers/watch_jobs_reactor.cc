#include "server/handlers/watch_jobs_reactor.h"

#include <iterator>

#include <absl/strings/str_cat.h>

#include "server/handlers/call_context.h"
#include "server/handlers/grpc_status.h"
#include "server/handlers/proto_convert.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;

namespace {
constexpr char kMethod[] = "BatchJobService.WatchJobs";
}  // namespace

WatchJobsReactor::WatchJobsReactor(grpc::CallbackServerContext* context,
                                   store::JobStore& store, store::JobFeed& feed,
                                   JobFilter filter, int snapshot_size,
                                   Limits limits, absl::Duration slow_rpc)
    : context_(context),
      store_(store),
      feed_(feed),
      filter_(std::move(filter)),
      snapshot_size_(snapshot_size),
      limits_(limits),
      log_(kMethod, slow_rpc) {}

void WatchJobsReactor::Start(common::Executor& executor) {
  {
    // Set before subscribing: from then on an interruption must wait for
    // the snapshot task (see FinishLocked) rather than finish under it.
    std::lock_guard<std::mutex> lock(mutex_);
    snapshot_in_flight_ = true;
  }
  // Not under mutex_: the feed calls us with its own lock held, so taking
  // them in the other order here could deadlock.
  absl::Status subscribed = feed_.Subscribe(this);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!subscribed.ok()) {
    snapshot_in_flight_ = false;
    FinishLocked(ToGrpcStatus(subscribed));
    return;
  }
  subscribed_ = true;
  if (!executor.Post([this] { LoadSnapshot(); })) {
    snapshot_in_flight_ = false;
    if (finish_pending_.has_value()) {
      FinishNowLocked(*finish_pending_);
    } else {
      FinishLocked(ToGrpcStatus(common::ExecutorFullError()));
    }
  }
}

void WatchJobsReactor::OnJobChange(const store::JobChange& change) {
  if (!filter_.Matches(change)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  v1::WatchJobsResponse event;
  ToProto(change, &event);
  const size_t bytes = event.ByteSizeLong();
  // One event is always let in, however large: the bound is on what waits.
  if (live_queued_ >= limits_.max_events ||
      (live_queued_ > 0 && live_queued_bytes_ + bytes > limits_.max_bytes)) {
    limits_.dropped_slow->fetch_add(1, std::memory_order_relaxed);
    FinishLocked(
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     absl::StrCat("watcher too slow: ", live_queued_,
                                  " job events (", live_queued_bytes_,
                                  " bytes) waiting to be sent; watch again")));
    return;
  }
  queue_.push_back({true, std::move(event)});
  ++live_queued_;
  live_queued_bytes_ += bytes;
  WriteNextLocked();
}

void WatchJobsReactor::OnFeedInterrupted(const absl::Status& why) {
  std::lock_guard<std::mutex> lock(mutex_);
  subscribed_ = false;  // the feed forgot us already
  FinishLocked(ToGrpcStatus(why));
}

void WatchJobsReactor::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> lock(mutex_);
  writing_ = false;
  if (!ok) {  // the stream is gone (client cancelled or disconnected)
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
    return;
  }
  ++sent_;
  WriteNextLocked();
}

void WatchJobsReactor::OnCancel() {
  std::lock_guard<std::mutex> lock(mutex_);
  FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED,
                            "the client cancelled the watch"));
}

void WatchJobsReactor::OnDone() {
  bool subscribed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    subscribed = subscribed_;
  }
  // After Unsubscribe returns the feed never calls us again.
  if (subscribed) feed_.Unsubscribe(this);
  // The snapshot's statements; the feed's fetches serve every watcher and
  // are nobody's in particular.
  log_.set_statements(snapshot_statements_.count, snapshot_statements_.time);
  log_.Done(final_status_, sent_);
  limits_.open_streams->fetch_sub(1);
  delete this;
}

void WatchJobsReactor::LoadSnapshot() {
  absl::StatusOr<store::JobPage> page;
  {
    // Read by OnDone, which comes after this task (FinishLocked waits).
    snapshot_statements_.rpc = kMethod;
    db::CountStatementsScope counting(&snapshot_statements_);
    page = store_.List(CallContextOf(context_, kMethod), filter_.statuses,
                       filter_.job_type, std::nullopt, snapshot_size_);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  snapshot_in_flight_ = false;
  if (finish_pending_.has_value()) {
    FinishNowLocked(*finish_pending_);
    return;
  }
  if (!page.ok()) {
    FinishLocked(ToGrpcStatus(page.status()));
    return;
  }
  std::deque<std::pair<bool, v1::WatchJobsResponse>> snapshot;
  for (const store::Job& job : page->jobs) {
    v1::WatchJobsResponse event;
    event.set_type(v1::JOB_EVENT_TYPE_SNAPSHOT);
    ToProto(job, event.mutable_job());
    snapshot.push_back({false, std::move(event)});
  }
  v1::WatchJobsResponse complete;
  complete.set_type(v1::JOB_EVENT_TYPE_SNAPSHOT_COMPLETE);
  snapshot.push_back({false, std::move(complete)});
  queue_.insert(queue_.begin(), std::make_move_iterator(snapshot.begin()),
                std::make_move_iterator(snapshot.end()));
  snapshot_ready_ = true;
  WriteNextLocked();
}

void WatchJobsReactor::WriteNextLocked() {
  if (writing_ || finished_ || !snapshot_ready_ || queue_.empty()) return;
  if (queue_.front().first) {
    --live_queued_;
    live_queued_bytes_ -= queue_.front().second.ByteSizeLong();
  }
  current_ = std::move(queue_.front().second);
  queue_.pop_front();
  writing_ = true;
  StartWrite(&current_);
}

void WatchJobsReactor::FinishLocked(grpc::Status status) {
  if (finished_) return;
  finished_ = true;
  queue_.clear();
  live_queued_ = 0;
  live_queued_bytes_ = 0;
  if (snapshot_in_flight_) {
    finish_pending_ = std::move(status);
    return;
  }
  FinishNowLocked(std::move(status));
}

void WatchJobsReactor::FinishNowLocked(grpc::Status status) {
  final_status_ = status;
  Finish(std::move(status));
}

}  // namespace aves::handlers
