// The one place absl::Status becomes grpc::Status (codes share numbering).
// A status that names a field (common::InvalidField) reaches the client with
// a google.rpc.BadRequest detail in a google.rpc.Status, gRPC's rich error
// model; other payloads (SQLSTATE, ...) stay on the server.
#ifndef AVES_SERVER_HANDLERS_GRPC_STATUS_H_
#define AVES_SERVER_HANDLERS_GRPC_STATUS_H_

#include <absl/status/status.h>
#include <grpcpp/support/status.h>

namespace aves::handlers {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_GRPC_STATUS_H_
