#include "server/handlers/grpc_status.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/common/field_error.h"
#include "server/common/retry_delay.h"

namespace aves::handlers {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());
  const std::vector<std::pair<std::string, std::string>> violations =
      common::FieldViolationsOf(status);
  const std::optional<absl::Duration> retry_delay =
      common::RetryDelayOf(status);
  if (violations.empty() && !retry_delay.has_value()) {
    return grpc::Status(code, message);
  }
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(status.code()));
  rich.set_message(message);
  if (!violations.empty()) {
    google::rpc::BadRequest bad_request;
    for (const auto& [field, problem] : violations) {
      google::rpc::BadRequest::FieldViolation* violation =
          bad_request.add_field_violations();
      violation->set_field(field);
      violation->set_description(problem);
    }
    rich.add_details()->PackFrom(bad_request);
  }
  if (retry_delay.has_value()) {
    google::rpc::RetryInfo retry_info;
    const int64_t micros = absl::ToInt64Microseconds(*retry_delay);
    retry_info.mutable_retry_delay()->set_seconds(micros / 1'000'000);
    retry_info.mutable_retry_delay()->set_nanos(
        static_cast<int32_t>(micros % 1'000'000 * 1000));
    rich.add_details()->PackFrom(retry_info);
  }
  return grpc::Status(code, message, rich.SerializeAsString());
}

}  // namespace aves::handlers
