#include "server/handlers/grpc_status.h"

#include <string>

#include <absl/strings/match.h>

#include "google/rpc/status.pb.h"

namespace aves::handlers {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  google::rpc::Status rich;
  status.ForEachPayload(
      [&rich](absl::string_view type_url, const absl::Cord& value) {
        if (!absl::StartsWith(type_url, "type.googleapis.com/"))
          return;  // internal payloads stay
        google::protobuf::Any* detail = rich.add_details();
        detail->set_type_url(std::string(type_url));
        detail->set_value(std::string(value));
      });
  const auto code = static_cast<grpc::StatusCode>(status.code());
  const std::string message(status.message());
  if (rich.details_size() == 0) return grpc::Status(code, message);
  rich.set_code(static_cast<int>(status.code()));
  rich.set_message(message);
  return grpc::Status(code, message, rich.SerializeAsString());
}

}  // namespace aves::handlers
