#include "client/lib/channel.h"

#include <fstream>
#include <sstream>

#include <absl/strings/str_cat.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace aves::client {

namespace {

absl::StatusOr<std::string> ReadFile(const char* what,
                                     const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  if (file) text << file.rdbuf();
  if (!file || text.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the ", what, " file ", path));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<ChannelSecurity> ChannelSecurity::FromFiles(
    bool tls, const std::string& ca_file, const std::string& cert_file,
    const std::string& key_file, const std::string& server_name) {
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate and its key go together: give both or neither");
  }
  ChannelSecurity security;
  security.tls = tls || !ca_file.empty() || !cert_file.empty();
  security.server_name = server_name;
  if (!ca_file.empty()) {
    absl::StatusOr<std::string> pem = ReadFile("CA", ca_file);
    if (!pem.ok()) return pem.status();
    security.root_certs_pem = *std::move(pem);
  }
  if (!cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadFile("certificate", cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile("key", key_file);
    if (!key.ok()) return key.status();
    security.cert_chain_pem = *std::move(cert);
    security.private_key_pem = *std::move(key);
  }
  return security;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  return MakeChannel(address, ChannelSecurity{});
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ChannelSecurity& security) {
  grpc::ChannelArguments args;
  // Detect dead connections through NATs and load balancers within ~40 s.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  if (!security.tls) {
    return grpc::CreateCustomChannel(address,
                                     grpc::InsecureChannelCredentials(), args);
  }
  if (!security.server_name.empty()) {
    args.SetSslTargetNameOverride(security.server_name);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = security.root_certs_pem;
  ssl.pem_cert_chain = security.cert_chain_pem;
  ssl.pem_private_key = security.private_key_pem;
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
  google::rpc::Status rich;
  if (!status.error_details().empty() &&
      rich.ParseFromString(status.error_details())) {
    for (const google::protobuf::Any& detail : rich.details()) {
      result.SetPayload(detail.type_url(), absl::Cord(detail.value()));
    }
  }
  return result;
}

std::vector<std::pair<std::string, std::string>> FieldViolations(
    const absl::Status& status) {
  std::vector<std::pair<std::string, std::string>> violations;
  absl::optional<absl::Cord> payload =
      status.GetPayload("type.googleapis.com/google.rpc.BadRequest");
  google::rpc::BadRequest details;
  if (payload.has_value() && details.ParseFromString(std::string(*payload))) {
    for (const auto& violation : details.field_violations()) {
      violations.emplace_back(violation.field(), violation.description());
    }
  }
  return violations;
}

}  // namespace aves::client
