#include "client/lib/health_client.h"

#include <utility>

#include <grpcpp/client_context.h>

namespace aves::client {

namespace health = grpc::health::v1;

const char* ServingStatusName(ServingStatus status) {
  switch (status) {
    case ServingStatus::kServing:
      return "SERVING";
    case ServingStatus::kNotServing:
      return "NOT_SERVING";
    case ServingStatus::kServiceUnknown:
      return "SERVICE_UNKNOWN";
    case ServingStatus::kUnknown:
      break;
  }
  return "UNKNOWN";
}

HealthClient::HealthClient(std::shared_ptr<grpc::Channel> channel,
                           CallOptions options)
    : stub_(health::Health::NewStub(std::move(channel))), options_(options) {}

absl::StatusOr<ServingStatus> HealthClient::Check(const std::string& service) {
  health::HealthCheckRequest request;
  request.set_service(service);
  absl::StatusOr<health::HealthCheckResponse> response =
      UnaryCall<health::HealthCheckResponse>(
          CallOptions{options_.timeout, /*max_attempts=*/1}, Idempotency::kRead,
          [&](auto* context, auto* out) {
            return stub_->Check(context, request, out);
          });
  if (!response.ok()) return response.status();
  switch (response->status()) {
    case health::HealthCheckResponse::SERVING:
      return ServingStatus::kServing;
    case health::HealthCheckResponse::NOT_SERVING:
      return ServingStatus::kNotServing;
    case health::HealthCheckResponse::SERVICE_UNKNOWN:
      return ServingStatus::kServiceUnknown;
    default:
      return ServingStatus::kUnknown;
  }
}

}  // namespace aves::client
