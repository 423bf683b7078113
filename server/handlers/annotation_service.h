// AnnotationService: validate -> AnnotationStore -> proto, on the callback
// API with store work on the executor (offload.h). Lists page by keyset
// tokens bound to their filter.
#ifndef AVES_SERVER_HANDLERS_ANNOTATION_SERVICE_H_
#define AVES_SERVER_HANDLERS_ANNOTATION_SERVICE_H_

#include <absl/status/status.h>
#include <absl/time/time.h>

#include "aves/data/v1/annotations.grpc.pb.h"
#include "server/common/executor.h"
#include "server/handlers/page_token.h"
#include "server/store/annotation_store.h"

namespace aves::handlers {

class AnnotationServiceImpl final
    : public aves::data::v1::AnnotationService::CallbackService {
 public:
  // Limits of the request fields (annotations.proto).
  static constexpr size_t kMaxTermBytes = 500;
  static constexpr size_t kMaxReviewerBytes = 200;
  static constexpr size_t kMaxAnnotationTypeBytes = 100;
  static constexpr size_t kMaxBoundingBoxBytes = 64 * 1024;

  AnnotationServiceImpl(store::AnnotationStore& store,
                        common::Executor& executor,
                        const PageTokenCodec& tokens, absl::Duration slow_rpc)
      : store_(store),
        executor_(executor),
        tokens_(tokens),
        slow_rpc_(slow_rpc) {}

  grpc::ServerUnaryReactor* ListImageAnnotations(
      grpc::CallbackServerContext* context,
      const aves::data::v1::ListImageAnnotationsRequest* request,
      aves::data::v1::ListImageAnnotationsResponse* response) override;
  grpc::ServerUnaryReactor* ListAnnotationsByStatus(
      grpc::CallbackServerContext* context,
      const aves::data::v1::ListAnnotationsByStatusRequest* request,
      aves::data::v1::ListAnnotationsByStatusResponse* response) override;
  grpc::ServerUnaryReactor* ReviewAnnotation(
      grpc::CallbackServerContext* context,
      const aves::data::v1::ReviewAnnotationRequest* request,
      aves::data::v1::ReviewAnnotationResponse* response) override;

 private:
  absl::Status DoListImageAnnotations(
      grpc::ServerContextBase* context,
      const aves::data::v1::ListImageAnnotationsRequest& request,
      aves::data::v1::ListImageAnnotationsResponse* response, int64_t* rows);
  absl::Status DoListAnnotationsByStatus(
      grpc::ServerContextBase* context,
      const aves::data::v1::ListAnnotationsByStatusRequest& request,
      aves::data::v1::ListAnnotationsByStatusResponse* response, int64_t* rows);
  absl::Status DoReviewAnnotation(
      grpc::ServerContextBase* context,
      const aves::data::v1::ReviewAnnotationRequest& request,
      aves::data::v1::ReviewAnnotationResponse* response, int64_t* rows);

  store::AnnotationStore& store_;
  common::Executor& executor_;
  const PageTokenCodec& tokens_;
  const absl::Duration slow_rpc_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_ANNOTATION_SERVICE_H_
