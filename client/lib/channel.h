// Channels and status conversion for aves-data clients. Callers get
// absl::Status values; grpc types stay inside client/lib.
#ifndef AVES_CLIENT_LIB_CHANNEL_H_
#define AVES_CLIENT_LIB_CHANNEL_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <absl/status/status.h>
#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

namespace aves::client {

// The address used when neither --addr nor AVES_ADDR is given.
inline constexpr char kDefaultAddress[] = "localhost:50051";

// An insecure channel to `address` with keepalive set (TLS comes later).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

// grpc::Status -> absl::Status (the codes share numbering). Rich-error
// details (google.rpc.Status in grpc-status-details-bin) become payloads
// keyed by their type URL.
absl::Status FromGrpcStatus(const grpc::Status& status);

// The (field, description) pairs of a google.rpc.BadRequest carried by
// `status`: which request fields the server refused and why.
std::vector<std::pair<std::string, std::string>> FieldViolations(
    const absl::Status& status);

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_CHANNEL_H_
