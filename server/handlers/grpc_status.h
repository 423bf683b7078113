// The one place absl::Status becomes grpc::Status (codes share numbering).
#ifndef AVES_SERVER_HANDLERS_GRPC_STATUS_H_
#define AVES_SERVER_HANDLERS_GRPC_STATUS_H_

#include <string>

#include <absl/status/status.h>
#include <grpcpp/support/status.h>

namespace aves::handlers {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_GRPC_STATUS_H_
