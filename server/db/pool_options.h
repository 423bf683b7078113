// The pool's settings (validated by server/config). Plain data, no pqxx, so
// config and tests use it freely. Environment variables in parentheses.
#ifndef AVES_SERVER_DB_POOL_OPTIONS_H_
#define AVES_SERVER_DB_POOL_OPTIONS_H_

#include <absl/time/time.h>

namespace aves::db {

struct PoolOptions {
  int max_connections = 20;  // DB_POOL_MAX
  int min_connections = 5;   // DB_POOL_MIN
  // Idle connections bulk work never takes: it waits for the connector to
  // open it one instead, so an interactive call finds one ready. Config sets
  // min(DB_POOL_MIN, DB_POOL_MAX - AVES_BULK_MAX_CONNECTIONS).
  int interactive_reserve = 0;
  absl::Duration statement_timeout =
      absl::Milliseconds(9500);  // DB_STATEMENT_TIMEOUT (server)
  absl::Duration query_timeout =
      absl::Seconds(10);  // DB_QUERY_TIMEOUT (client)
  bool debug = false;     // DB_DEBUG
  absl::Duration acquire_timeout = absl::Seconds(5);  // DB_ACQUIRE_TIMEOUT
  int max_waiters = 100;                              // DB_MAX_WAITERS
  absl::Duration idle_timeout = absl::Minutes(5);  // DB_IDLE_TIMEOUT (0: never)
  absl::Duration max_lifetime =
      absl::Minutes(30);  // DB_MAX_LIFETIME (0: never)
  absl::Duration connect_timeout = absl::Seconds(5);  // DB_CONNECT_TIMEOUT
  int error_rate_warn = 30;  // DB_ERROR_RATE_WARN (per minute)
  absl::Duration lease_warn = absl::Seconds(15);  // DB_LEASE_WARN

  // Not configurable: documented behaviour.
  // An idle connection idle longer than this is checked before it is lent.
  absl::Duration validate_after_idle = absl::Seconds(1);
  // A query still running this long after its cancel is aborted (socket shut
  // down).
  absl::Duration cancel_grace = absl::Seconds(2);
  // Reconnect back-off: full jitter between these bounds, doubling per failure.
  absl::Duration backoff_initial = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(5);
  // Lifetimes are shortened by a random part of up to this fraction, so
  // connections opened together do not all expire together.
  double lifetime_jitter = 0.1;
};

}  // namespace aves::db

#endif  // AVES_SERVER_DB_POOL_OPTIONS_H_
