// Offload: how callback-API handlers run their blocking store work. gRPC's
// own threads must never wait on the database, so the work goes to the
// executor (sized to the connection pool), which finishes the call.
#ifndef AVES_SERVER_HANDLERS_OFFLOAD_H_
#define AVES_SERVER_HANDLERS_OFFLOAD_H_

#include <cstdint>
#include <utility>

#include <absl/status/status.h>
#include <absl/time/clock.h>
#include <absl/time/time.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "server/common/executor.h"
#include "server/handlers/access_log.h"
#include "server/handlers/grpc_status.h"

namespace aves::handlers {

// Runs `work()` (returning grpc::Status) on `executor` and finishes the call
// with its result; RESOURCE_EXHAUSTED at once when the executor's queue is
// full.
template <typename Work>
grpc::ServerUnaryReactor* Offload(common::Executor& executor,
                                  grpc::CallbackServerContext* context,
                                  Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!executor.Post([reactor, work = std::move(work)]() mutable {
        reactor->Finish(work());
      })) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     "server busy: too many calls queued for the database"));
  }
  return reactor;
}

// Offload with the call's access-log line: `work(&rows)` returns an
// absl::Status (so handlers use RETURN_IF_ERROR), which becomes the call's
// grpc::Status (ToGrpcStatus) and is logged with `rows` and the time since
// the call arrived, queueing included.
template <typename Work>
grpc::ServerUnaryReactor* OffloadLogged(common::Executor& executor,
                                        grpc::CallbackServerContext* context,
                                        const char* method,
                                        absl::Duration slow_rpc, Work work) {
  const absl::Time arrived = absl::Now();
  return Offload(executor, context,
                 [method, slow_rpc, arrived, work = std::move(work)]() mutable {
                   AccessLog log(method, slow_rpc, arrived);
                   int64_t rows = 0;
                   absl::Status status = work(&rows);
                   return log.Done(ToGrpcStatus(status), rows);
                 });
}

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_OFFLOAD_H_
