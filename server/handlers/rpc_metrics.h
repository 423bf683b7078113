// The go-grpc-prometheus families for every method the server serves (ours,
// health, reflection, streams included), recorded in one place: a server
// interceptor, so no handler records anything itself.
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_msg_received_total / grpc_server_msg_sent_total
//   grpc_server_handling_seconds (histogram)
// Labels come from the fixed set of methods known at start; a call to an
// unknown method (answered UNIMPLEMENTED by gRPC) is not counted, so no
// caller can add series.
#ifndef AVES_SERVER_HANDLERS_RPC_METRICS_H_
#define AVES_SERVER_HANDLERS_RPC_METRICS_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include "server/observability/metrics.h"

namespace aves::handlers {

class RpcMetrics {
 public:
  // The counters of one method.
  struct Method {
    std::string type;     // unary, client_stream, server_stream, bidi_stream
    std::string service;  // "aves.data.v1.ExerciseCacheService"
    std::string name;     // "GetExercise"
    observability::Counter started, received, sent;
    std::array<observability::Counter, 17> handled;  // by grpc::StatusCode
    observability::Histogram handling;

    // A call's end: its code and how long it took.
    void Handled(grpc::StatusCode code, double seconds) {
      const int index = static_cast<int>(code);
      handled[index >= 0 && index < 17 ? index : 2].Add();
      handling.Observe(seconds);
    }
  };

  // Every method of `services` (full names, from the generated descriptors)
  // plus gRPC's health and reflection services.
  explicit RpcMetrics(const std::vector<std::string>& services);

  // The method of gRPC path "/pkg.Service/Method"; null when unknown.
  Method* Find(absl::string_view path) const;

  // Every method, in a fixed order (for RpcHistory's samples).
  const std::vector<std::unique_ptr<Method>>& methods() const {
    return methods_;
  }

  // Writes the families (registered as a collector by the server).
  void Collect(observability::Exposition& out) const;

  // The interceptors recording into this (which must outlive the server).
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  InterceptorFactory();

 private:
  void AddMethod(std::string type, std::string service, std::string name);

  std::vector<std::unique_ptr<Method>> methods_;
  absl::flat_hash_map<std::string, Method*> by_path_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_RPC_METRICS_H_
