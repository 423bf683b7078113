// Channels and status conversion for aves-data clients. Callers get
// absl::Status values; grpc types stay inside client/lib.
#ifndef AVES_CLIENT_LIB_CHANNEL_H_
#define AVES_CLIENT_LIB_CHANNEL_H_

#include <memory>
#include <string>

#include <absl/status/status.h>
#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

namespace aves::client {

// The address used when neither --addr nor AVES_ADDR is given.
inline constexpr char kDefaultAddress[] = "localhost:50051";

// An insecure channel to `address` with keepalive set (TLS comes later).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

// grpc::Status -> absl::Status (the codes share numbering).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_CHANNEL_H_
