// The common::CallContext of a gRPC call: its deadline, its cancellation, and
// the method name for lease-leak warnings.
#ifndef AVES_SERVER_HANDLERS_CALL_CONTEXT_H_
#define AVES_SERVER_HANDLERS_CALL_CONTEXT_H_

#include <string>

#include <absl/time/time.h>
#include <grpcpp/server_context.h>

#include "server/common/call_context.h"

namespace aves::handlers {

inline common::CallContext CallContextOf(grpc::ServerContextBase* context,
                                         std::string method) {
  common::CallContext call;
  call.holder = std::move(method);
  if (context == nullptr) return call;
  const auto deadline = context->deadline();
  if (deadline < std::chrono::system_clock::time_point::max() -
                     std::chrono::hours(24 * 365)) {
    call.deadline = absl::FromChrono(deadline);
  }
  call.cancelled = [context] { return context->IsCancelled(); };
  return call;
}

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_CALL_CONTEXT_H_
