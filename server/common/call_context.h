// CallContext: what a caller brings to work done on its behalf, through every
// layer down to the pool: its deadline, how to tell whether it was cancelled,
// and a name for leak warnings and logs. Plain data, so stores, the bulk path
// and tests pass it without gRPC (handlers/call_context.h builds one from a
// gRPC call).
#ifndef AVES_SERVER_COMMON_CALL_CONTEXT_H_
#define AVES_SERVER_COMMON_CALL_CONTEXT_H_

#include <functional>
#include <string>

#include <absl/time/time.h>

namespace aves::common {

struct CallContext {
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> cancelled;  // may be empty
  std::string holder = "unnamed";
  // Bulk work (a load's batches and bookkeeping) yields to interactive
  // calls: a released connection goes to an interactive waiter first, and
  // the pool keeps DB_POOL_MIN connections open beside those bulk work holds
  // (db/pool.h).
  bool bulk = false;
  // How long one database call may run (0: DB_QUERY_TIMEOUT, and
  // DB_STATEMENT_TIMEOUT on the server). Work known to take longer brings
  // its own (an atomic load's publish: AVES_BULK_PUBLISH_TIMEOUT_MS); the
  // deadline still bounds it.
  absl::Duration query_timeout = absl::ZeroDuration();
};

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_CALL_CONTEXT_H_
