#include "client/lib/channel.h"

#include <fstream>
#include <sstream>

#include <absl/strings/str_cat.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/client_interceptor.h>

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

// Adds the bearer token to every call's metadata. An interceptor, not
// grpc::AccessTokenCredentials: gRPC sends call credentials only over TLS,
// and a token over loopback plaintext is how tests and scripts/run talk.
class BearerTokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string* header)
      : header_(header) {}
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", *header_);
    }
    methods->Proceed();
  }

 private:
  const std::string* header_;
};

class BearerTokenFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenFactory(const std::string& token)
      : header_(absl::StrCat("Bearer ", token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerTokenInterceptor(&header_);
  }

 private:
  const std::string header_;
};

std::shared_ptr<grpc::Channel> CreateChannel(
    const std::string& address,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials,
    const grpc::ChannelArguments& args, const std::string& bearer_token) {
  if (bearer_token.empty()) {
    return grpc::CreateCustomChannel(address, credentials, args);
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(std::make_unique<BearerTokenFactory>(bearer_token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      address, credentials, args, std::move(interceptors));
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
    return CreateChannel(address, grpc::InsecureChannelCredentials(), args,
                         security.bearer_token);
  }
  if (!security.server_name.empty()) {
    args.SetSslTargetNameOverride(security.server_name);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = security.root_certs_pem;
  ssl.pem_cert_chain = security.cert_chain_pem;
  ssl.pem_private_key = security.private_key_pem;
  return CreateChannel(address, grpc::SslCredentials(ssl), args,
                       security.bearer_token);
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
