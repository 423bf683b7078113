// AnnotationService: validate -> AnnotationStore -> proto, each RPC's store
// work on the executor (offload.h). Lists page by keyset tokens bound to
// their filter.
#ifndef AVES_SERVER_HANDLERS_ANNOTATION_SERVICE_H_
#define AVES_SERVER_HANDLERS_ANNOTATION_SERVICE_H_

#include <cstddef>

#include "aves/data/v1/annotations.grpc.pb.h"
#include "server/handlers/offload.h"
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

  AnnotationServiceImpl(store::AnnotationStore& store, HandlerContext handler,
                        const PageTokenCodec& tokens)
      : store_(store), handler_(handler), tokens_(tokens) {
    RegisterParseChecked();
  }

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
  void RegisterParseChecked();
  store::AnnotationStore& store_;
  const HandlerContext handler_;
  const PageTokenCodec& tokens_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_ANNOTATION_SERVICE_H_
