// Channels and status conversion for aves-data clients. Callers get
// absl::Status values; grpc types stay inside client/lib.
#ifndef AVES_CLIENT_LIB_CHANNEL_H_
#define AVES_CLIENT_LIB_CHANNEL_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

namespace aves::client {

// The address used when neither --addr nor AVES_ADDR is given.
inline constexpr char kDefaultAddress[] = "localhost:50051";

// How a channel reaches avesd: plaintext, or TLS trusting `root_certs_pem`
// (empty: the system's roots), with a client certificate for mutual TLS.
struct ChannelSecurity {
  bool tls = false;
  std::string root_certs_pem;
  std::string cert_chain_pem;  // both or neither
  std::string private_key_pem;
  // The name the server's certificate must carry, when it is not the
  // address's host (tests dialling 127.0.0.1 with a "localhost" certificate).
  std::string server_name;
  // Sent as `authorization: Bearer <token>` on every call when set. Over
  // plaintext only on loopback: anyone on the path could replay it.
  std::string bearer_token;

  // TLS from PEM files (any may be empty; a CA or certificate file implies
  // TLS). INVALID_ARGUMENT naming the file that cannot be read, or a
  // certificate without its key.
  static absl::StatusOr<ChannelSecurity> FromFiles(
      bool tls, const std::string& ca_file, const std::string& cert_file,
      const std::string& key_file, const std::string& server_name);
};

// A plaintext channel to `address` with keepalive set.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);
// The same, secured as `security` says.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ChannelSecurity& security);

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
