// How every unary handler is written. Each RPC is one of:
//  - OffloadLogged: blocking store work, run on the executor (sized to the
//    connection pool: gRPC's own threads never wait on the database);
//  - RespondLogged: work that never blocks (reading in-memory figures), run
//    at once on gRPC's thread, so it answers even when the executor's queue
//    is full — which is when an operator asks.
// Both take `work(&rows)` returning an absl::Status (so handlers use
// RETURN_IF_ERROR), turn it into the call's grpc::Status (ToGrpcStatus) and
// write the call's access-log line with `rows` and the time since the call
// arrived, queueing included.
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
#include "server/db/query_metrics.h"
#include "server/handlers/access_log.h"
#include "server/handlers/authorization.h"
#include "server/handlers/grpc_status.h"

namespace aves::handlers {

// What a handler needs to write its RPCs: the executor for blocking work,
// the access log's slow-call threshold, and the gate in front of every
// method (null: no authentication).
struct HandlerContext {
  common::Executor& executor;
  absl::Duration slow_rpc;
  const CallAuthorizer* authorizer = nullptr;
};

template <typename Work>
grpc::ServerUnaryReactor* RespondLogged(grpc::CallbackServerContext* context,
                                        const char* method,
                                        absl::Duration slow_rpc, Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  AccessLog log(method, slow_rpc);
  log.set_caller(GatedCaller());
  int64_t rows = 0;
  const absl::Status status = work(&rows);
  reactor->Finish(log.Done(ToGrpcStatus(status), rows));
  return reactor;
}

template <typename Work>
grpc::ServerUnaryReactor* OffloadLogged(const HandlerContext& handler,
                                        grpc::CallbackServerContext* context,
                                        const char* method, Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time arrived = absl::Now();
  const absl::Duration slow_rpc = handler.slow_rpc;
  if (!handler.executor.Post([reactor, method, slow_rpc, arrived,
                              caller = GatedCaller(),
                              work = std::move(work)]() mutable {
        AccessLog log(method, slow_rpc, arrived);
        log.set_caller(std::move(caller));
        int64_t rows = 0;
        db::CallStatements statements;
        statements.rpc = method;
        absl::Status status;
        {
          db::CountStatementsScope counting(&statements);
          status = work(&rows);
        }
        log.set_statements(statements.count, statements.time);
        reactor->Finish(log.Done(ToGrpcStatus(status), rows));
      })) {
    AccessLog log(method, slow_rpc, arrived);
    log.set_caller(GatedCaller());
    reactor->Finish(log.Done(ToGrpcStatus(common::ExecutorFullError())));
  }
  return reactor;
}

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_OFFLOAD_H_
