// AnnotationClient: typed calls of aves.data.v1.AnnotationService. Lists
// (idempotent reads) are retried on UNAVAILABLE; reviews never are.
#ifndef AVES_CLIENT_LIB_ANNOTATION_CLIENT_H_
#define AVES_CLIENT_LIB_ANNOTATION_CLIENT_H_

#include <memory>

#include <absl/status/statusor.h>
#include <grpcpp/channel.h>

#include "aves/data/v1/annotations.grpc.pb.h"
#include "client/lib/call.h"

namespace aves::client {

class AnnotationClient {
 public:
  explicit AnnotationClient(std::shared_ptr<grpc::Channel> channel,
                            CallOptions options = {});

  absl::StatusOr<data::v1::ListImageAnnotationsResponse> ListImageAnnotations(
      const data::v1::ListImageAnnotationsRequest& request);
  absl::StatusOr<data::v1::ListAnnotationsByStatusResponse>
  ListAnnotationsByStatus(
      const data::v1::ListAnnotationsByStatusRequest& request);
  absl::StatusOr<data::v1::Annotation> ReviewAnnotation(
      const data::v1::ReviewAnnotationRequest& request);

 private:
  std::unique_ptr<data::v1::AnnotationService::Stub> stub_;
  CallOptions options_;
};

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_ANNOTATION_CLIENT_H_
