#include "client/lib/annotation_client.h"

namespace aves::client {

namespace v1 = data::v1;

AnnotationClient::AnnotationClient(std::shared_ptr<grpc::Channel> channel,
                                   CallOptions options)
    : stub_(v1::AnnotationService::NewStub(channel)), options_(options) {}

absl::StatusOr<v1::ListImageAnnotationsResponse>
AnnotationClient::ListImageAnnotations(
    const v1::ListImageAnnotationsRequest& request) {
  return UnaryCall<v1::ListImageAnnotationsResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->ListImageAnnotations(context, request, response);
      });
}

absl::StatusOr<v1::ListAnnotationsByStatusResponse>
AnnotationClient::ListAnnotationsByStatus(
    const v1::ListAnnotationsByStatusRequest& request) {
  return UnaryCall<v1::ListAnnotationsByStatusResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->ListAnnotationsByStatus(context, request, response);
      });
}

absl::StatusOr<v1::Annotation> AnnotationClient::ReviewAnnotation(
    const v1::ReviewAnnotationRequest& request) {
  absl::StatusOr<v1::ReviewAnnotationResponse> response =
      UnaryCall<v1::ReviewAnnotationResponse>(
          options_, Idempotency::kWrite, [&](auto* context, auto* out) {
            return stub_->ReviewAnnotation(context, request, out);
          });
  if (!response.ok()) return response.status();
  return response->annotation();
}

}  // namespace aves::client
