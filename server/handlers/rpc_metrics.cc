#include "server/handlers/rpc_metrics.h"

#include <chrono>

#include <absl/strings/str_cat.h>
#include <google/protobuf/descriptor.h>

namespace aves::handlers {
namespace {

using observability::Exposition;

const char* TypeOf(const google::protobuf::MethodDescriptor& method) {
  if (method.client_streaming() && method.server_streaming()) {
    return "bidi_stream";
  }
  if (method.client_streaming()) return "client_stream";
  if (method.server_streaming()) return "server_stream";
  return "unary";
}

constexpr const char* kCodeNames[17] = {"OK",
                                        "Canceled",
                                        "Unknown",
                                        "InvalidArgument",
                                        "DeadlineExceeded",
                                        "NotFound",
                                        "AlreadyExists",
                                        "PermissionDenied",
                                        "ResourceExhausted",
                                        "FailedPrecondition",
                                        "Aborted",
                                        "OutOfRange",
                                        "Unimplemented",
                                        "Internal",
                                        "Unavailable",
                                        "DataLoss",
                                        "Unauthenticated"};

// One call: created when it arrives, destroyed when it is done. A call that
// never sends a status (cancelled by the client, the server shutting down)
// is counted as Canceled when it goes.
class CallRecorder final : public grpc::experimental::Interceptor {
 public:
  explicit CallRecorder(RpcMetrics::Method* method)
      : method_(method), start_(std::chrono::steady_clock::now()) {
    method_->started.Add();
  }
  ~CallRecorder() override {
    if (!finished_) Finish(grpc::StatusCode::CANCELLED);
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    using Point = grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(Point::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() != nullptr) {
      method_->received.Add();
    }
    if (methods->QueryInterceptionHookPoint(Point::PRE_SEND_MESSAGE)) {
      method_->sent.Add();
    }
    if (methods->QueryInterceptionHookPoint(Point::PRE_SEND_STATUS) &&
        !finished_) {
      Finish(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Finish(grpc::StatusCode code) {
    finished_ = true;
    method_->Handled(code, std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - start_)
                               .count());
  }

  RpcMetrics::Method* method_;
  std::chrono::steady_clock::time_point start_;
  bool finished_ = false;
};

class RecorderFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RecorderFactory(const RpcMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    RpcMetrics::Method* method =
        info->method() == nullptr ? nullptr : metrics_->Find(info->method());
    return method == nullptr ? nullptr : new CallRecorder(method);
  }

 private:
  const RpcMetrics* metrics_;
};

}  // namespace

RpcMetrics::RpcMetrics(const std::vector<std::string>& services) {
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      AddMethod(TypeOf(*method), name, method->name());
    }
  }
  // gRPC's own services, whose descriptors are not ours to look up.
  AddMethod("unary", "grpc.health.v1.Health", "Check");
  AddMethod("server_stream", "grpc.health.v1.Health", "Watch");
  AddMethod("bidi_stream", "grpc.reflection.v1alpha.ServerReflection",
            "ServerReflectionInfo");
}

void RpcMetrics::AddMethod(std::string type, std::string service,
                           std::string name) {
  auto method = std::make_unique<Method>();
  method->type = std::move(type);
  method->service = std::move(service);
  method->name = std::move(name);
  by_path_[absl::StrCat("/", method->service, "/", method->name)] =
      method.get();
  methods_.push_back(std::move(method));
}

RpcMetrics::Method* RpcMetrics::Find(absl::string_view path) const {
  auto found = by_path_.find(path);
  return found == by_path_.end() ? nullptr : found->second;
}

void RpcMetrics::Collect(Exposition& out) const {
  auto labels = [](const Method& method) {
    return observability::Labels{{"grpc_type", method.type},
                                 {"grpc_service", method.service},
                                 {"grpc_method", method.name}};
  };
  out.Family("grpc_server_started_total", Exposition::Type::kCounter,
             "Total number of RPCs started on the server.");
  for (const auto& method : methods_) {
    out.Sample("grpc_server_started_total", labels(*method),
               method->started.value());
  }
  out.Family("grpc_server_handled_total", Exposition::Type::kCounter,
             "Total number of RPCs completed on the server, regardless of "
             "success or failure.");
  for (const auto& method : methods_) {
    for (int code = 0; code < 17; ++code) {
      const uint64_t count = method->handled[code].value();
      // OK always, other codes once they happened: bounded either way.
      if (count == 0 && code != 0) continue;
      observability::Labels with_code = labels(*method);
      with_code.emplace_back("grpc_code", kCodeNames[code]);
      out.Sample("grpc_server_handled_total", with_code, count);
    }
  }
  out.Family("grpc_server_msg_received_total", Exposition::Type::kCounter,
             "Total number of RPC stream messages received on the server.");
  for (const auto& method : methods_) {
    out.Sample("grpc_server_msg_received_total", labels(*method),
               method->received.value());
  }
  out.Family("grpc_server_msg_sent_total", Exposition::Type::kCounter,
             "Total number of gRPC stream messages sent by the server.");
  for (const auto& method : methods_) {
    out.Sample("grpc_server_msg_sent_total", labels(*method),
               method->sent.value());
  }
  out.Family("grpc_server_handling_seconds", Exposition::Type::kHistogram,
             "Histogram of response latency (seconds) of gRPC that had been "
             "application-level handled by the server.");
  for (const auto& method : methods_) {
    out.Histogram("grpc_server_handling_seconds", labels(*method),
                  method->handling.Snapshot());
  }
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcMetrics::InterceptorFactory() {
  return std::make_unique<RecorderFactory>(this);
}

}  // namespace aves::handlers
