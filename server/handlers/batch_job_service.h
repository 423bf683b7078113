// BatchJobService: validate -> JobStore -> proto, on the callback API with
// store work on the executor (see offload.h). Lists page by keyset tokens.
#ifndef AVES_SERVER_HANDLERS_BATCH_JOB_SERVICE_H_
#define AVES_SERVER_HANDLERS_BATCH_JOB_SERVICE_H_

#include <absl/time/time.h>

#include "aves/data/v1/batch_jobs.grpc.pb.h"
#include "server/common/executor.h"
#include "server/handlers/page_token.h"
#include "server/store/job_store.h"

namespace aves::handlers {

class BatchJobServiceImpl final
    : public aves::data::v1::BatchJobService::CallbackService {
 public:
  BatchJobServiceImpl(store::JobStore& store, common::Executor& executor,
                      const PageTokenCodec& tokens, absl::Duration slow_rpc)
      : store_(store),
        executor_(executor),
        tokens_(tokens),
        slow_rpc_(slow_rpc) {}

  grpc::ServerUnaryReactor* ListJobErrors(
      grpc::CallbackServerContext* context,
      const aves::data::v1::ListJobErrorsRequest* request,
      aves::data::v1::ListJobErrorsResponse* response) override;

 private:
  grpc::Status DoListJobErrors(
      grpc::ServerContextBase* context, absl::Time arrived,
      const aves::data::v1::ListJobErrorsRequest* request,
      aves::data::v1::ListJobErrorsResponse* response);

  store::JobStore& store_;
  common::Executor& executor_;
  const PageTokenCodec& tokens_;
  const absl::Duration slow_rpc_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_BATCH_JOB_SERVICE_H_
