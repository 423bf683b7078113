#include "server/handlers/reflection_gate.h"

#include <absl/strings/match.h>
#include <absl/strings/string_view.h>
#include <grpc/grpc.h>

namespace aves::handlers {
namespace {

// Every version of the reflection protocol ("grpc.reflection.v1alpha...",
// "grpc.reflection.v1..."): none is one of ours, so none has a rule in the
// policy table and each is admin-only.
constexpr absl::string_view kReflectionPrefix = "/grpc.reflection.";

class ReflectionGate final : public grpc::experimental::Interceptor {
 public:
  ReflectionGate(grpc::experimental::ServerRpcInfo* info,
                 const CallAuthorizer* authorizer)
      : info_(info), authorizer_(authorizer) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                POST_RECV_INITIAL_METADATA)) {
      // "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo".
      const absl::string_view path = info_->method();
      const size_t slash = path.rfind('/');
      const MethodGate gate = GateFor(authorizer_, path.substr(1, slash - 1),
                                      path.substr(slash + 1));
      std::shared_ptr<const auth::Caller> caller;
      grpc::Status refused =
          PassGate(authorizer_, info_->server_context(), gate, &caller);
      if (!refused.ok()) {
        // The plugin's handler runs regardless; a call cancelled with our
        // status ends its reads at once and the caller sees the refusal
        // (ServerContext::TryCancel would say only CANCELLED).
        grpc_call_cancel_with_status(
            info_->server_context()->c_call(),
            static_cast<grpc_status_code>(refused.error_code()),
            refused.error_message().c_str(), nullptr);
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
  const CallAuthorizer* authorizer_;
};

class ReflectionGateFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ReflectionGateFactory(const CallAuthorizer* authorizer)
      : authorizer_(authorizer) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    if (info->method() == nullptr ||
        !absl::StartsWith(info->method(), kReflectionPrefix)) {
      return nullptr;
    }
    return new ReflectionGate(info, authorizer_);
  }

 private:
  const CallAuthorizer* authorizer_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
AdminOnlyReflection(const CallAuthorizer* authorizer) {
  return std::make_unique<ReflectionGateFactory>(authorizer);
}

}  // namespace aves::handlers
