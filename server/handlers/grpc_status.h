// The one place absl::Status becomes grpc::Status (codes share numbering).
// Payloads keyed by a type URL (a google.rpc.BadRequest from validation) go
// to the client as google.rpc.Status details, gRPC's rich error model.
#ifndef AVES_SERVER_HANDLERS_GRPC_STATUS_H_
#define AVES_SERVER_HANDLERS_GRPC_STATUS_H_

#include <absl/status/status.h>
#include <grpcpp/support/status.h>

namespace aves::handlers {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_GRPC_STATUS_H_
