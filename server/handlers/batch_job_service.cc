#include "server/handlers/batch_job_service.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>

#include "server/common/status_macros.h"
#include "server/handlers/access_log.h"
#include "server/handlers/call_context.h"
#include "server/handlers/grpc_status.h"
#include "server/handlers/offload.h"
#include "server/handlers/proto_convert.h"
#include "server/handlers/validation.h"
#include "server/observability/logging.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;

namespace {

constexpr char kJobsList[] = "jobs";
constexpr char kJobErrorsList[] = "job_errors";
constexpr char kListJobs[] = "BatchJobService.ListJobs";
constexpr char kGetJob[] = "BatchJobService.GetJob";
constexpr char kListJobErrors[] = "BatchJobService.ListJobErrors";
constexpr char kCreateJob[] = "BatchJobService.CreateJob";
constexpr char kUpdateJobProgress[] = "BatchJobService.UpdateJobProgress";
constexpr char kAppendJobErrors[] = "BatchJobService.AppendJobErrors";
constexpr char kWatchJobs[] = "BatchJobService.WatchJobs";

constexpr const char* kAllJobStatuses[] = {"pending", "processing", "completed",
                                           "failed", "cancelled"};

// What ListJobs and WatchJobs select: statuses (none given: all) and an
// optional type.
struct JobFilter {
  std::vector<std::string> statuses;  // sorted, unique, never empty
  std::optional<std::string> job_type;

  bool Matches(const store::JobChange& change) const {
    if (job_type.has_value() && change.job.job_type != *job_type) return false;
    auto watched = [this](const std::string& status) {
      return std::binary_search(statuses.begin(), statuses.end(), status);
    };
    // A job leaving a watched status is reported once more, so a dashboard
    // of active jobs sees it finish.
    return watched(change.job.status) ||
           (!change.old_status.empty() && watched(change.old_status));
  }

  // Binds page tokens to the filter.
  std::string Key() const {
    return absl::StrCat(absl::StrJoin(statuses, ","), "/",
                        job_type.has_value() ? "=" + *job_type : "*");
  }
};

template <typename Request>
absl::StatusOr<JobFilter> ValidateFilter(const Request& request) {
  JobFilter filter;
  std::set<std::string> statuses;
  for (int i = 0; i < request.statuses_size(); ++i) {
    ASSIGN_OR_RETURN(
        std::string status,
        JobStatusText(absl::StrCat("statuses[", i, "]"),
                      static_cast<v1::JobStatus>(request.statuses(i))));
    statuses.insert(std::move(status));
  }
  if (statuses.empty())
    statuses.insert(std::begin(kAllJobStatuses), std::end(kAllJobStatuses));
  filter.statuses.assign(statuses.begin(), statuses.end());
  if (request.has_job_type()) {
    RETURN_IF_ERROR(ValidateText("job_type", request.job_type(),
                                 BatchJobServiceImpl::kMaxJobTypeBytes, true));
    filter.job_type = request.job_type();
  }
  return filter;
}

// One WatchJobs stream: subscribed to the feed first, so no change is missed
// between the snapshot's query and the live events, then the snapshot from
// the pool (on the executor), then live events. Events that arrive during
// the snapshot wait in the queue behind it. Lifetime: gRPC calls OnDone once
// Finish and every write completed; the snapshot task holds the reactor, so
// Finish waits for it (finish_pending_).
class WatchJobsReactor final
    : public grpc::ServerWriteReactor<v1::WatchJobsResponse>,
      public store::JobFeed::Subscriber {
 public:
  WatchJobsReactor(grpc::CallbackServerContext* context, store::JobStore& store,
                   store::JobFeed& feed, JobFilter filter, int snapshot_size,
                   size_t max_queued, absl::Duration slow_rpc)
      : context_(context),
        store_(store),
        feed_(feed),
        filter_(std::move(filter)),
        snapshot_size_(snapshot_size),
        max_queued_(max_queued),
        log_(kWatchJobs, slow_rpc) {}

  void Start(common::Executor& executor) {
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
        FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                  "server busy: too many calls queued for the "
                                  "database"));
      }
    }
  }

  void OnJobChange(const store::JobChange& change) override {
    if (!filter_.Matches(change)) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    if (live_queued_ >= max_queued_) {
      FinishLocked(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("watcher too slow: ", live_queued_,
                       " job events waiting to be sent; watch again")));
      return;
    }
    v1::WatchJobsResponse event;
    switch (change.kind) {
      case store::JobChange::Kind::kCreated:
        event.set_type(v1::JOB_EVENT_TYPE_CREATED);
        ToProto(change.job, event.mutable_job());
        break;
      case store::JobChange::Kind::kUpdated:
        event.set_type(v1::JOB_EVENT_TYPE_UPDATED);
        ToProto(change.job, event.mutable_job());
        break;
      case store::JobChange::Kind::kDeleted:
        event.set_type(v1::JOB_EVENT_TYPE_DELETED);
        event.mutable_job()->set_id(change.job.id);
        event.mutable_job()->set_job_type(change.job.job_type);
        event.mutable_job()->set_status(JobStatusFromText(change.job.status));
        break;
    }
    queue_.push_back({true, std::move(event)});
    ++live_queued_;
    WriteNextLocked();
  }

  void OnFeedInterrupted(const absl::Status& why) override {
    std::lock_guard<std::mutex> lock(mutex_);
    subscribed_ = false;  // the feed forgot us already
    FinishLocked(ToGrpcStatus(why));
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mutex_);
    writing_ = false;
    if (!ok) {  // the stream is gone (client cancelled or disconnected)
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed"));
      return;
    }
    ++sent_;
    WriteNextLocked();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mutex_);
    FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED,
                              "the client cancelled the watch"));
  }

  void OnDone() override {
    bool subscribed;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      subscribed = subscribed_;
    }
    // After Unsubscribe returns the feed never calls us again.
    if (subscribed) feed_.Unsubscribe(this);
    log_.Done(final_status_, sent_);
    delete this;
  }

 private:
  void LoadSnapshot() {
    absl::StatusOr<store::JobPage> page =
        store_.List(CallContextOf(context_, kWatchJobs), filter_.statuses,
                    filter_.job_type, std::nullopt, snapshot_size_);
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

  void WriteNextLocked() {
    if (writing_ || finished_ || !snapshot_ready_ || queue_.empty()) return;
    if (queue_.front().first) --live_queued_;
    current_ = std::move(queue_.front().second);
    queue_.pop_front();
    writing_ = true;
    StartWrite(&current_);
  }

  // Ends the stream once: dropping whatever is queued. While the snapshot
  // task still runs, Finish waits for it (it uses this object).
  void FinishLocked(grpc::Status status) {
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    live_queued_ = 0;
    if (snapshot_in_flight_) {
      finish_pending_ = std::move(status);
      return;
    }
    FinishNowLocked(std::move(status));
  }

  void FinishNowLocked(grpc::Status status) {
    final_status_ = status;
    Finish(std::move(status));
  }

  grpc::CallbackServerContext* const context_;
  store::JobStore& store_;
  store::JobFeed& feed_;
  const JobFilter filter_;
  const int snapshot_size_;
  const size_t max_queued_;
  AccessLog log_;

  std::mutex mutex_;
  // (live event?, event) in sending order.
  std::deque<std::pair<bool, v1::WatchJobsResponse>> queue_;
  size_t live_queued_ = 0;
  v1::WatchJobsResponse current_;  // the write in flight
  bool writing_ = false;
  bool subscribed_ = false;
  bool snapshot_in_flight_ = false;
  bool snapshot_ready_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> finish_pending_;
  grpc::Status final_status_;
  int64_t sent_ = 0;
};

}  // namespace

grpc::ServerUnaryReactor* BatchJobServiceImpl::ListJobs(
    grpc::CallbackServerContext* context, const v1::ListJobsRequest* request,
    v1::ListJobsResponse* response) {
  return OffloadLogged(executor_, context, kListJobs, slow_rpc_,
                       [=](int64_t* rows) {
                         return DoListJobs(context, *request, response, rows);
                       });
}

grpc::ServerUnaryReactor* BatchJobServiceImpl::GetJob(
    grpc::CallbackServerContext* context, const v1::GetJobRequest* request,
    v1::GetJobResponse* response) {
  return OffloadLogged(
      executor_, context, kGetJob, slow_rpc_, [=](int64_t* rows) {
        std::string id;
        RETURN_IF_ERROR(ValidateUuid("id", request->id(), &id));
        ASSIGN_OR_RETURN(store::Job job,
                         store_.Get(CallContextOf(context, kGetJob), id));
        ToProto(job, response->mutable_job());
        *rows = 1;
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BatchJobServiceImpl::ListJobErrors(
    grpc::CallbackServerContext* context,
    const v1::ListJobErrorsRequest* request,
    v1::ListJobErrorsResponse* response) {
  return OffloadLogged(
      executor_, context, kListJobErrors, slow_rpc_, [=](int64_t* rows) {
        return DoListJobErrors(context, *request, response, rows);
      });
}

grpc::ServerUnaryReactor* BatchJobServiceImpl::CreateJob(
    grpc::CallbackServerContext* context, const v1::CreateJobRequest* request,
    v1::CreateJobResponse* response) {
  return OffloadLogged(
      executor_, context, kCreateJob, slow_rpc_, [=](int64_t* rows) {
        store::NewJob job;
        RETURN_IF_ERROR(ValidateText("job_type", request->job_type(),
                                     kMaxJobTypeBytes, true));
        job.job_type = request->job_type();
        RETURN_IF_ERROR(ValidateRange("total_items", request->total_items(), 0,
                                      std::numeric_limits<int64_t>::max()));
        job.total_items = request->total_items();
        RETURN_IF_ERROR(ValidateText("metadata", request->metadata(),
                                     kMaxMetadataBytes, false));
        if (!request->metadata().empty()) job.metadata = request->metadata();
        ASSIGN_OR_RETURN(
            store::Job created,
            store_.Create(CallContextOf(context, kCreateJob), job));
        ToProto(created, response->mutable_job());
        *rows = 1;
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BatchJobServiceImpl::UpdateJobProgress(
    grpc::CallbackServerContext* context,
    const v1::UpdateJobProgressRequest* request,
    v1::UpdateJobProgressResponse* response) {
  return OffloadLogged(
      executor_, context, kUpdateJobProgress, slow_rpc_, [=](int64_t* rows) {
        *rows = 1;
        return DoUpdateJobProgress(context, *request, response);
      });
}

grpc::ServerUnaryReactor* BatchJobServiceImpl::AppendJobErrors(
    grpc::CallbackServerContext* context,
    const v1::AppendJobErrorsRequest* request,
    v1::AppendJobErrorsResponse* response) {
  return OffloadLogged(
      executor_, context, kAppendJobErrors, slow_rpc_, [=](int64_t* rows) {
        absl::Status status = DoAppendJobErrors(context, *request, response);
        *rows = response->appended();
        return status;
      });
}

grpc::ServerWriteReactor<v1::WatchJobsResponse>* BatchJobServiceImpl::WatchJobs(
    grpc::CallbackServerContext* context, const v1::WatchJobsRequest* request) {
  absl::StatusOr<JobFilter> filter = ValidateFilter(*request);
  int snapshot_size = request->snapshot_size();
  absl::Status valid = filter.status();
  if (valid.ok() && snapshot_size == 0) snapshot_size = 100;
  if (valid.ok() && (snapshot_size < 1 || snapshot_size > 1000)) {
    valid = InvalidField("snapshot_size",
                         absl::StrCat(snapshot_size, " is outside [1, 1000]"));
  }
  if (!valid.ok()) {
    // A reactor that only finishes: validation fails before any subscription.
    class Refusal final
        : public grpc::ServerWriteReactor<v1::WatchJobsResponse> {
     public:
      explicit Refusal(grpc::Status status) { Finish(std::move(status)); }
      void OnDone() override { delete this; }
    };
    AccessLog log(kWatchJobs, slow_rpc_);
    log.Done(ToGrpcStatus(valid));
    return new Refusal(ToGrpcStatus(valid));
  }
  auto* reactor =
      new WatchJobsReactor(context, store_, feed_, *std::move(filter),
                           snapshot_size, watch_.max_queued_events, slow_rpc_);
  reactor->Start(executor_);
  return reactor;
}

absl::Status BatchJobServiceImpl::DoListJobs(grpc::ServerContextBase* context,
                                             const v1::ListJobsRequest& request,
                                             v1::ListJobsResponse* response,
                                             int64_t* rows) {
  ASSIGN_OR_RETURN(JobFilter filter, ValidateFilter(request));
  ASSIGN_OR_RETURN(const int page_size, PageSize(request.page_size()));
  std::optional<store::KeysetCursor> after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(
        PageCursor cursor,
        tokens_.Decode(request.page_token(), kJobsList, filter.Key()));
    after = store::KeysetCursor{cursor.sort_key, cursor.id};
  }
  ASSIGN_OR_RETURN(
      store::JobPage page,
      store_.List(CallContextOf(context, kListJobs), filter.statuses,
                  filter.job_type, after, page_size));
  for (const store::Job& job : page.jobs) ToProto(job, response->add_jobs());
  if (page.more) {
    const store::Job& last = page.jobs.back();
    response->set_next_page_token(tokens_.Encode(
        kJobsList, filter.Key(), PageCursor{last.created_at_text, last.id}));
  }
  *rows = static_cast<int64_t>(page.jobs.size());
  return absl::OkStatus();
}

absl::Status BatchJobServiceImpl::DoListJobErrors(
    grpc::ServerContextBase* context, const v1::ListJobErrorsRequest& request,
    v1::ListJobErrorsResponse* response, int64_t* rows) {
  std::string job_id;
  RETURN_IF_ERROR(ValidateUuid("job_id", request.job_id(), &job_id));
  ASSIGN_OR_RETURN(const int page_size, PageSize(request.page_size()));
  std::optional<store::JobErrorCursor> after;
  if (!request.page_token().empty()) {
    // The token is bound to this job: a token of another job is refused.
    ASSIGN_OR_RETURN(PageCursor cursor, tokens_.Decode(request.page_token(),
                                                       kJobErrorsList, job_id));
    after = store::JobErrorCursor{cursor.sort_key, cursor.id};
  }
  ASSIGN_OR_RETURN(store::JobErrorPage page,
                   store_.ListErrors(CallContextOf(context, kListJobErrors),
                                     job_id, after, page_size));
  for (const store::JobError& error : page.errors) {
    v1::JobError* out = response->add_errors();
    out->set_id(error.id);
    out->set_job_id(error.job_id);
    if (error.item_index.has_value()) out->set_item_index(*error.item_index);
    if (error.item_id.has_value()) out->set_item_id(*error.item_id);
    out->set_error_message(error.error_message);
    *out->mutable_created_at() = ToTimestamp(error.created_at);
  }
  if (page.more) {
    const store::JobError& last = page.errors.back();
    response->set_next_page_token(tokens_.Encode(
        kJobErrorsList, job_id,
        PageCursor{last.created_at_text, std::to_string(last.id)}));
  }
  *rows = static_cast<int64_t>(page.errors.size());
  return absl::OkStatus();
}

absl::Status BatchJobServiceImpl::DoUpdateJobProgress(
    grpc::ServerContextBase* context,
    const v1::UpdateJobProgressRequest& request,
    v1::UpdateJobProgressResponse* response) {
  store::JobProgress progress;
  RETURN_IF_ERROR(ValidateUuid("id", request.id(), &progress.id));
  if (request.status() != v1::JOB_STATUS_UNSPECIFIED) {
    ASSIGN_OR_RETURN(progress.status,
                     JobStatusText("status", request.status()));
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 4;
  RETURN_IF_ERROR(ValidateRange("processed_items_delta",
                                request.processed_items_delta(), 0, kMax));
  RETURN_IF_ERROR(ValidateRange("failed_items_delta",
                                request.failed_items_delta(), 0, kMax));
  progress.processed_items_delta = request.processed_items_delta();
  progress.failed_items_delta = request.failed_items_delta();
  if (request.has_total_items()) {
    RETURN_IF_ERROR(
        ValidateRange("total_items", request.total_items(), 0, kMax));
    progress.total_items = request.total_items();
  }
  ASSIGN_OR_RETURN(store::Job job,
                   store_.UpdateProgress(
                       CallContextOf(context, kUpdateJobProgress), progress));
  ToProto(job, response->mutable_job());
  return absl::OkStatus();
}

absl::Status BatchJobServiceImpl::DoAppendJobErrors(
    grpc::ServerContextBase* context, const v1::AppendJobErrorsRequest& request,
    v1::AppendJobErrorsResponse* response) {
  std::string job_id;
  RETURN_IF_ERROR(ValidateUuid("job_id", request.job_id(), &job_id));
  if (request.errors_size() < 1 || request.errors_size() > kMaxErrorsPerCall) {
    return InvalidField(
        "errors", absl::StrCat(request.errors_size(), " errors; send 1 to ",
                               kMaxErrorsPerCall, " per call"));
  }
  std::vector<store::NewJobError> errors;
  errors.reserve(request.errors_size());
  for (int i = 0; i < request.errors_size(); ++i) {
    const v1::NewJobError& given = request.errors(i);
    const std::string field = absl::StrCat("errors[", i, "]");
    store::NewJobError error;
    if (given.has_item_index()) {
      RETURN_IF_ERROR(ValidateRange(field + ".item_index", given.item_index(),
                                    0, std::numeric_limits<int64_t>::max()));
      error.item_index = given.item_index();
    }
    if (given.has_item_id()) {
      RETURN_IF_ERROR(ValidateText(field + ".item_id", given.item_id(),
                                   kMaxItemIdBytes, false));
      error.item_id = given.item_id();
    }
    RETURN_IF_ERROR(ValidateText(field + ".error_message",
                                 given.error_message(), kMaxErrorMessageBytes,
                                 true));
    error.error_message = given.error_message();
    errors.push_back(std::move(error));
  }
  ASSIGN_OR_RETURN(const int64_t appended,
                   store_.AppendErrors(CallContextOf(context, kAppendJobErrors),
                                       job_id, errors));
  response->set_appended(appended);
  return absl::OkStatus();
}

}  // namespace aves::handlers
