#include "server/handlers/batch_job_service.h"

#include <google/protobuf/util/time_util.h>

#include "server/handlers/access_log.h"
#include "server/handlers/call_context.h"
#include "server/handlers/grpc_status.h"
#include "server/handlers/offload.h"
#include "server/handlers/validation.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;
using google::protobuf::util::TimeUtil;

namespace {
constexpr char kJobErrorsList[] = "job_errors";
}  // namespace

grpc::ServerUnaryReactor* BatchJobServiceImpl::ListJobErrors(
    grpc::CallbackServerContext* context,
    const v1::ListJobErrorsRequest* request,
    v1::ListJobErrorsResponse* response) {
  const absl::Time arrived = absl::Now();
  return Offload(executor_, context, [=] {
    return DoListJobErrors(context, arrived, request, response);
  });
}

grpc::Status BatchJobServiceImpl::DoListJobErrors(
    grpc::ServerContextBase* context, absl::Time arrived,
    const v1::ListJobErrorsRequest* request,
    v1::ListJobErrorsResponse* response) {
  AccessLog log("BatchJobService.ListJobErrors", slow_rpc_, arrived);
  std::string job_id;
  if (absl::Status valid = ValidateUuid("job_id", request->job_id(), &job_id);
      !valid.ok()) {
    return log.Done(ToGrpcStatus(valid));
  }
  absl::StatusOr<int> page_size = PageSize(request->page_size());
  if (!page_size.ok()) return log.Done(ToGrpcStatus(page_size.status()));
  std::optional<store::JobErrorCursor> after;
  if (!request->page_token().empty()) {
    // The token is bound to this job: a token of another job is refused.
    absl::StatusOr<PageCursor> cursor =
        tokens_.Decode(request->page_token(), kJobErrorsList, job_id);
    if (!cursor.ok()) return log.Done(ToGrpcStatus(cursor.status()));
    after = store::JobErrorCursor{cursor->sort_key, cursor->id};
  }
  absl::StatusOr<store::JobErrorPage> page =
      store_.ListErrors(CallContextOf(context, "BatchJobService.ListJobErrors"),
                        job_id, after, *page_size);
  if (!page.ok()) return log.Done(ToGrpcStatus(page.status()));
  for (const store::JobError& error : page->errors) {
    v1::JobError* out = response->add_errors();
    out->set_id(error.id);
    out->set_job_id(error.job_id);
    if (error.item_index.has_value()) out->set_item_index(*error.item_index);
    if (error.item_id.has_value()) out->set_item_id(*error.item_id);
    out->set_error_message(error.error_message);
    *out->mutable_created_at() =
        TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(error.created_at));
  }
  if (page->more) {
    const store::JobError& last = page->errors.back();
    response->set_next_page_token(tokens_.Encode(
        kJobErrorsList, job_id,
        PageCursor{last.created_at_text, std::to_string(last.id)}));
  }
  return log.Done(grpc::Status::OK, static_cast<int64_t>(page->errors.size()));
}

}  // namespace aves::handlers
