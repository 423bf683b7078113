// Database: how the stores reach PostgreSQL. It owns the pool of PgConnections
// and runs each call with the rules a caller must not have to remember:
//  - the call's deadline is min(caller's deadline, now + DB_QUERY_TIMEOUT);
//    the server-side statement_timeout is set below it (StatementTimeoutFor),
//    so PostgreSQL aborts first and the caller sees the database's reason;
//  - the watchdog cancels the query on the server when the deadline passes or
//    the caller cancels (gRPC client gone): DEADLINE_EXCEEDED / CANCELLED;
//  - a connection that failed is discarded; a read that failed because its
//    connection was lost is retried once on a fresh connection; a write never
//    is (a COMMIT lost in flight has an unknown outcome: UNKNOWN).
#ifndef AVES_SERVER_DB_DATABASE_H_
#define AVES_SERVER_DB_DATABASE_H_

#include <memory>
#include <string>
#include <vector>

#include <absl/functional/function_ref.h>
#include <absl/status/status.h>

#include "server/common/call_context.h"
#include "server/db/pool.h"
#include "server/db/pqxx_fwd.h"
#include "server/db/prepared_statement.h"
#include "server/db/query_metrics.h"

namespace aves::db {

enum class Access {
  kRead,   // idempotent: retried once after a lost connection
  kWrite,  // never retried
};

class Database {
 public:
  // `statements` are prepared on every connection; `sent_as_text` are the
  // named statements sent as text (db::ExecParams), known to the metrics.
  Database(std::string conninfo, PoolOptions options,
           std::vector<PreparedStatement> statements,
           const std::vector<PreparedStatement>& sent_as_text = {});

  // Starts the pool's threads (returns at once; see Pool::WaitUntilReady).
  void Start() { pool_.Start(); }
  Pool& pool() { return pool_; }
  // Time and failures of each prepared statement (db/timed_exec.h records).
  QueryMetrics& query_metrics() { return query_metrics_; }

  // Runs `fn` on a pooled connection under the rules above. `fn` must own
  // any transaction it opens (RAII), and may run twice for kRead.
  absl::Status Run(const common::CallContext& context, Access access,
                   absl::FunctionRef<absl::Status(pqxx::connection_base&)> fn);

 private:
  QueryMetrics query_metrics_;
  Pool pool_;
};

}  // namespace aves::db

#endif  // AVES_SERVER_DB_DATABASE_H_
