#include "server/handlers/batch_job_service.h"

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <absl/strings/str_cat.h>

#include "server/common/field_error.h"
#include "server/common/status_macros.h"
#include "server/common/validation.h"
#include "server/handlers/access_log.h"
#include "server/handlers/call_context.h"
#include "server/handlers/grpc_status.h"
#include "server/handlers/job_filter.h"
#include "server/handlers/proto_convert.h"
#include "server/handlers/unparsable_request.h"
#include "server/handlers/watch_jobs_reactor.h"

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

using Self = BatchJobServiceImpl;

absl::StatusOr<store::NewJob> NewJobOf(const v1::CreateJobRequest& request) {
  store::NewJob job;
  common::FieldChecks checks;
  checks.Add(common::ValidateText("job_type", request.job_type(),
                                  JobFilter::kMaxJobTypeBytes, true));
  job.job_type = request.job_type();
  checks.Add(common::ValidateRange("total_items", request.total_items(), 0,
                                   std::numeric_limits<int64_t>::max()));
  job.total_items = request.total_items();
  checks.Add(common::ValidateJson("metadata", request.metadata(),
                                  Self::kMaxMetadataBytes,
                                  common::JsonShape::kObject, false));
  RETURN_IF_ERROR(checks.status());
  if (!request.metadata().empty()) job.metadata = request.metadata();
  return job;
}

absl::StatusOr<store::JobProgress> ProgressOf(
    const v1::UpdateJobProgressRequest& request) {
  store::JobProgress progress;
  RETURN_IF_ERROR(common::ValidateUuid("id", request.id(), &progress.id));
  if (request.status() != v1::JOB_STATUS_UNSPECIFIED) {
    ASSIGN_OR_RETURN(progress.status,
                     JobStatusFromProto("status", request.status()));
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 4;
  RETURN_IF_ERROR(common::ValidateRange(
      "processed_items_delta", request.processed_items_delta(), 0, kMax));
  RETURN_IF_ERROR(common::ValidateRange("failed_items_delta",
                                        request.failed_items_delta(), 0, kMax));
  progress.processed_items_delta = request.processed_items_delta();
  progress.failed_items_delta = request.failed_items_delta();
  if (request.has_total_items()) {
    RETURN_IF_ERROR(
        common::ValidateRange("total_items", request.total_items(), 0, kMax));
    progress.total_items = request.total_items();
  }
  return progress;
}

absl::StatusOr<std::vector<store::NewJobError>> ErrorsOf(
    const v1::AppendJobErrorsRequest& request) {
  if (request.errors_size() < 1 ||
      request.errors_size() > Self::kMaxErrorsPerCall) {
    return common::InvalidField(
        "errors", absl::StrCat(request.errors_size(), " errors; send 1 to ",
                               Self::kMaxErrorsPerCall, " per call"));
  }
  std::vector<store::NewJobError> errors;
  errors.reserve(request.errors_size());
  for (int i = 0; i < request.errors_size(); ++i) {
    const v1::NewJobError& given = request.errors(i);
    const std::string field = absl::StrCat("errors[", i, "]");
    store::NewJobError error;
    if (given.has_item_index()) {
      RETURN_IF_ERROR(
          common::ValidateRange(field + ".item_index", given.item_index(), 0,
                                std::numeric_limits<int64_t>::max()));
      error.item_index = given.item_index();
    }
    if (given.has_item_id()) {
      RETURN_IF_ERROR(common::ValidateText(field + ".item_id", given.item_id(),
                                           Self::kMaxItemIdBytes, false));
      error.item_id = given.item_id();
    }
    RETURN_IF_ERROR(common::ValidateText(field + ".error_message",
                                         given.error_message(),
                                         Self::kMaxErrorMessageBytes, true));
    error.error_message = given.error_message();
    errors.push_back(std::move(error));
  }
  return errors;
}

// WatchJobs' snapshot size: 0 means 100.
absl::StatusOr<int> SnapshotSize(int requested) {
  const int size = requested == 0 ? 100 : requested;
  if (size < 1 || size > 1000) {
    return common::InvalidField("snapshot_size",
                                absl::StrCat(size, " is outside [1, 1000]"));
  }
  return size;
}

}  // namespace

void BatchJobServiceImpl::RegisterParseChecked() {
  using Service = v1::BatchJobService;
  AVES_PARSE_CHECKED_UNARY(Service, BatchJobServiceImpl, ListJobs);
  AVES_PARSE_CHECKED_UNARY(Service, BatchJobServiceImpl, GetJob);
  AVES_PARSE_CHECKED_UNARY(Service, BatchJobServiceImpl, ListJobErrors);
  AVES_PARSE_CHECKED_UNARY(Service, BatchJobServiceImpl, CreateJob);
  AVES_PARSE_CHECKED_UNARY(Service, BatchJobServiceImpl, UpdateJobProgress);
  AVES_PARSE_CHECKED_UNARY(Service, BatchJobServiceImpl, AppendJobErrors);
  AVES_PARSE_CHECKED_SERVER_STREAMING(Service, BatchJobServiceImpl, WatchJobs);
}

grpc::ServerUnaryReactor* BatchJobServiceImpl::ListJobs(
    grpc::CallbackServerContext* context, const v1::ListJobsRequest* request,
    v1::ListJobsResponse* response) {
  return OffloadLogged(handler_, context, kListJobs, [=](int64_t* rows) {
    ASSIGN_OR_RETURN(const JobFilter filter, JobFilterOf(*request));
    const PagedList list(tokens_, kJobsList, filter.Key());
    ASSIGN_OR_RETURN(const PageRequest page_request,
                     list.Read(request->page_size(), request->page_token()));
    ASSIGN_OR_RETURN(
        const store::JobPage page,
        store_.List(CallContextOf(context, kListJobs), filter.statuses,
                    filter.job_type, page_request.after, page_request.size));
    // Bounded in bytes too: the first job always goes (one fits, PutJob's
    // metadata bound sees to it); a page that would pass the bound ends after
    // the job before, and the token continues from there.
    bool more = page.more;
    store::KeysetCursor last = page.last;
    size_t bytes = 0;
    for (size_t i = 0; i < page.jobs.size(); ++i) {
      v1::Job job;
      ToProto(page.jobs[i], &job);
      const size_t job_bytes = job.ByteSizeLong() + 8;  // and its framing
      if (i > 0 && bytes + job_bytes > watch_.max_page_bytes) {
        more = true;
        last = {page.jobs[i - 1].created_at_text, page.jobs[i - 1].id};
        break;
      }
      bytes += job_bytes;
      *response->add_jobs() = std::move(job);
    }
    response->set_next_page_token(list.NextToken(more, last));
    *rows = static_cast<int64_t>(response->jobs_size());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* BatchJobServiceImpl::GetJob(
    grpc::CallbackServerContext* context, const v1::GetJobRequest* request,
    v1::GetJobResponse* response) {
  return OffloadLogged(handler_, context, kGetJob, [=](int64_t* rows) {
    std::string id;
    RETURN_IF_ERROR(common::ValidateUuid("id", request->id(), &id));
    ASSIGN_OR_RETURN(const store::Job job,
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
  return OffloadLogged(handler_, context, kListJobErrors, [=](int64_t* rows) {
    std::string job_id;
    RETURN_IF_ERROR(common::ValidateUuid("job_id", request->job_id(), &job_id));
    // The token is bound to this job: a token of another job is refused.
    const PagedList list(tokens_, kJobErrorsList, job_id);
    ASSIGN_OR_RETURN(const PageRequest page_request,
                     list.Read(request->page_size(), request->page_token()));
    ASSIGN_OR_RETURN(
        const store::JobErrorPage page,
        store_.ListErrors(CallContextOf(context, kListJobErrors), job_id,
                          page_request.after, page_request.size));
    for (const store::JobError& error : page.errors)
      ToProto(error, response->add_errors());
    response->set_next_page_token(list.NextToken(page.more, page.last));
    *rows = static_cast<int64_t>(page.errors.size());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* BatchJobServiceImpl::CreateJob(
    grpc::CallbackServerContext* context, const v1::CreateJobRequest* request,
    v1::CreateJobResponse* response) {
  const std::shared_ptr<const auth::Caller> caller = GatedCaller();
  return OffloadLogged(handler_, context, kCreateJob, [=](int64_t* rows) {
    ASSIGN_OR_RETURN(store::NewJob job, NewJobOf(*request));
    if (caller != nullptr) job.created_by = caller->subject;
    ASSIGN_OR_RETURN(const store::Job created,
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
      handler_, context, kUpdateJobProgress, [=](int64_t* rows) {
        *rows = 1;
        ASSIGN_OR_RETURN(const store::JobProgress progress,
                         ProgressOf(*request));
        ASSIGN_OR_RETURN(
            const store::Job job,
            store_.UpdateProgress(CallContextOf(context, kUpdateJobProgress),
                                  progress));
        ToProto(job, response->mutable_job());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* BatchJobServiceImpl::AppendJobErrors(
    grpc::CallbackServerContext* context,
    const v1::AppendJobErrorsRequest* request,
    v1::AppendJobErrorsResponse* response) {
  return OffloadLogged(handler_, context, kAppendJobErrors, [=](int64_t* rows) {
    std::string job_id;
    RETURN_IF_ERROR(common::ValidateUuid("job_id", request->job_id(), &job_id));
    ASSIGN_OR_RETURN(const std::vector<store::NewJobError> errors,
                     ErrorsOf(*request));
    ASSIGN_OR_RETURN(
        const int64_t appended,
        store_.AppendErrors(CallContextOf(context, kAppendJobErrors), job_id,
                            errors));
    response->set_appended(appended);
    *rows = appended;
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::WatchJobsResponse>* BatchJobServiceImpl::WatchJobs(
    grpc::CallbackServerContext* context, const v1::WatchJobsRequest* request) {
  absl::StatusOr<JobFilter> filter = JobFilterOf(*request);
  absl::StatusOr<int> snapshot_size = SnapshotSize(request->snapshot_size());
  const absl::Status valid =
      filter.ok() ? snapshot_size.status() : filter.status();
  if (!valid.ok()) {
    AccessLog log(kWatchJobs, handler_.slow_rpc);
    return new RefusedWriteReactor<v1::WatchJobsResponse>(
        log.Done(ToGrpcStatus(valid)));
  }
  if (watchers_.fetch_add(1) >= watch_.max_streams) {
    watchers_.fetch_sub(1);
    AccessLog log(kWatchJobs, handler_.slow_rpc);
    return new RefusedWriteReactor<v1::WatchJobsResponse>(log.Done(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("too many job watchers open (AVES_WATCH_MAX_STREAMS=",
                     watch_.max_streams, "); try again later"))));
  }
  WatchJobsReactor::Limits limits{watch_.max_queued_events,
                                  watch_.max_queued_bytes, &watchers_,
                                  &watchers_dropped_slow_};
  auto* reactor =
      new WatchJobsReactor(context, store_, feed_, *std::move(filter),
                           *snapshot_size, limits, handler_.slow_rpc);
  reactor->Start(handler_.executor);
  return reactor;
}

}  // namespace aves::handlers
