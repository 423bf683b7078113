// Offload: how callback-API handlers run their blocking store work. gRPC's
// own threads must never wait on the database, so the work goes to the
// executor (sized to the connection pool), which finishes the call.
#ifndef AVES_SERVER_HANDLERS_OFFLOAD_H_
#define AVES_SERVER_HANDLERS_OFFLOAD_H_

#include <utility>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "server/common/executor.h"

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

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_OFFLOAD_H_
