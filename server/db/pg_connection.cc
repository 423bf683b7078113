#include "server/db/pg_connection.h"

#include <poll.h>

#include <cmath>
#include <utility>

#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/db/connection.h"
#include "server/db/errors.h"
#include "server/db/statement_name.h"
#include "server/observability/logging.h"

#include <sys/socket.h>

namespace aves::db {

namespace {

class NoticesToLog final : public pqxx::errorhandler {
 public:
  using pqxx::errorhandler::errorhandler;
  bool operator()(const char message[]) noexcept override {
    observability::Logger("db")->debug("server notice: {}", message);
    return false;  // handled: skip libpqxx's default (stderr)
  }
};

}  // namespace

PgConnection::PgConnection(std::unique_ptr<pqxx::connection> connection)
    : connection_(std::move(connection)),
      notices_(std::make_unique<NoticesToLog>(*connection_)) {}

PgConnection::~PgConnection() { notices_.reset(); }

bool PgConnection::LooksAlive() {
  const int fd = connection_->sock();
  if (fd < 0 || !connection_->is_open()) return false;
  pollfd check{fd, POLLIN, 0};
  return poll(&check, 1, 0) == 0;
}

void PgConnection::Cancel() {
  try {
    connection_->cancel_query();
  } catch (...) {
    // The connection is going away anyway; the watchdog aborts it if needed.
  }
}

void PgConnection::Abort() {
  const int fd = connection_->sock();
  if (fd >= 0) shutdown(fd, SHUT_RDWR);
}

void PgConnection::EnsureStatementTimeout(absl::Duration timeout) {
  const int64_t ms = absl::ToInt64Milliseconds(timeout);
  if (ms == statement_timeout_ms_) return;
  pqxx::nontransaction(*connection_)
      .exec(absl::StrCat(
          AVES_SQL_NAME("set_statement_timeout") "SET statement_timeout = ",
          ms));
  statement_timeout_ms_ = ms;
}

bool PgConnection::ResetSession() {
  try {
    pqxx::nontransaction tx(*connection_);
    tx.exec(AVES_SQL_NAME(
        "connection_reset") "ROLLBACK");  // a warning, not an error, when no
                                          // transaction is open
    tx.exec(AVES_SQL_NAME("connection_reset") "RESET ALL");
    statement_timeout_ms_ =
        -1;  // back to the role's default: set again next call
    return true;
  } catch (...) {
    return false;
  }
}

namespace {
constexpr absl::Duration kDeadPeerAfter = absl::Seconds(30);
}  // namespace

PgConnector::PgConnector(std::string conninfo, absl::Duration connect_timeout,
                         std::vector<PreparedStatement> statements)
    // A peer gone silent fails the connection within kDeadPeerAfter (a query
    // running then is cut by the pool's watchdog sooner, at its deadline).
    : conninfo_(WithDeadPeerDetection(
          WithConnectTimeout(conninfo, connect_timeout), kDeadPeerAfter)),
      statements_(std::move(statements)) {}

absl::StatusOr<std::unique_ptr<PooledConnection>> PgConnector::Connect() {
  absl::StatusOr<std::unique_ptr<pqxx::connection>> connection =
      db::Connect(conninfo_, kServerApplicationName);
  if (!connection.ok()) return connection.status();
  try {
    for (const PreparedStatement& statement : statements_) {
      // Its origin first, so that pg_stat_activity and pg_stat_statements
      // name the query ("/* aves:lookup_exercise */ SELECT ..."). Names are
      // ours, identifiers that cannot end the comment.
      (*connection)
          ->prepare(statement.name, absl::StrCat("/* aves:", statement.name,
                                                 " */ ", statement.sql));
    }
  } catch (...) {
    return StatusFromCurrentException("preparing statements");
  }
  return std::unique_ptr<PooledConnection>(
      new PgConnection(*std::move(connection)));
}

absl::Duration StatementTimeoutFor(absl::Duration remaining,
                                   absl::Duration cap) {
  // Below this a query cannot come back in time: not even tried.
  if (remaining < kLeastTimeToQuery) return absl::ZeroDuration();
  // Leave time for the error to travel back before the caller's deadline.
  const absl::Duration margin = std::min(
      absl::Milliseconds(50), std::max(absl::Milliseconds(5), remaining / 10));
  const absl::Duration target = remaining - margin;
  if (target >= cap) return cap;
  // A short deadline still gets its query: the server-side timeout stays at
  // the ladder's floor (one value, so no SET per call) and the watchdog's
  // cancel at the deadline itself ends the call in time.
  if (target < kLadderFloor) return kLadderFloor;
  // Largest 10 ms * 1.25^k not above target.
  const double steps = std::floor(
      std::log(absl::ToDoubleMilliseconds(target) / 10.0) / std::log(1.25));
  return std::min(target,
                  absl::Milliseconds(std::floor(10.0 * std::pow(1.25, steps))));
}

}  // namespace aves::db
