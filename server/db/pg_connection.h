// The pool's PostgreSQL connections (libpqxx): the PooledConnection the pool
// manages, and the Connector that opens them with application_name, connect
// timeout and every store's named statements declared.
#ifndef AVES_SERVER_DB_PG_CONNECTION_H_
#define AVES_SERVER_DB_PG_CONNECTION_H_

#include <memory>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>
#include <pqxx/connection>
#include <pqxx/errorhandler>

#include "server/db/pool.h"
#include "server/db/prepared_statement.h"

namespace aves::db {

class PgConnection final : public PooledConnection {
 public:
  explicit PgConnection(std::unique_ptr<pqxx::connection> connection);
  ~PgConnection() override;

  pqxx::connection& get() { return *connection_; }

  // Polls the socket without blocking: an idle connection has nothing to
  // read, so readable (the server's FATAL before closing) or hung up = dead.
  bool LooksAlive() override;
  void Cancel() override;  // libpq cancel request (a separate connection)
  void Abort() override;   // shutdown(2) on the socket: the blocked call fails

  // Sets the session's statement_timeout unless it already has this value.
  void EnsureStatementTimeout(absl::Duration timeout);

  // ROLLBACK and RESET ALL (prepared statements survive). False when the
  // connection failed doing it: discard it then.
  bool ResetSession();

 private:
  std::unique_ptr<pqxx::connection> connection_;
  // Routes server notices (e.g. ROLLBACK's "no transaction in progress") to
  // the "db" logger instead of libpqxx's default, stderr. Declared after
  // connection_ so it unregisters before the connection closes.
  std::unique_ptr<pqxx::errorhandler> notices_;
  int64_t statement_timeout_ms_ = -1;  // unknown until first set
};

class PgConnector final : public Connector {
 public:
  PgConnector(std::string conninfo, absl::Duration connect_timeout,
              std::vector<PreparedStatement> statements);
  absl::StatusOr<std::unique_ptr<PooledConnection>> Connect() override;

 private:
  const std::string conninfo_;
  const std::vector<PreparedStatement> statements_;
};

// A call with less time than this left is refused: a lookup's round trip
// takes well under it on this machine.
inline constexpr absl::Duration kLeastTimeToQuery = absl::Milliseconds(1);
// The shortest server-side statement_timeout the pool sets.
inline constexpr absl::Duration kLadderFloor = absl::Milliseconds(10);

// The server-side statement_timeout for a call with `remaining` time: at most
// `cap`, below `remaining` by a margin, and rounded down to a ~1.25x ladder
// so consecutive calls with similar deadlines reuse the session's value
// instead of paying a SET round trip each. For deadlines too short for a
// margin, kLadderFloor (the watchdog cancels at the deadline itself). Zero
// below kLeastTimeToQuery.
absl::Duration StatementTimeoutFor(absl::Duration remaining,
                                   absl::Duration cap);

}  // namespace aves::db

#endif  // AVES_SERVER_DB_PG_CONNECTION_H_
