#include "server/db/database.h"

#include <utility>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>

#include "server/db/errors.h"
#include "server/db/pg_connection.h"

namespace aves::db {

namespace {
std::vector<PreparedStatement> Concatenated(
    std::vector<PreparedStatement> first,
    const std::vector<PreparedStatement>& second) {
  first.insert(first.end(), second.begin(), second.end());
  return first;
}
}  // namespace

Database::Database(std::string conninfo, PoolOptions options,
                   std::vector<PreparedStatement> statements,
                   const std::vector<PreparedStatement>& sent_as_text)
    : query_metrics_(Concatenated(statements, sent_as_text)),
      pool_(options, std::make_unique<PgConnector>(std::move(conninfo),
                                                   options.connect_timeout,
                                                   std::move(statements))) {}

absl::Status Database::Run(
    const common::CallContext& context, Access access,
    absl::FunctionRef<absl::Status(pqxx::connection_base&)> fn) {
  const PoolOptions& options = pool_.options();
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<Lease> lease = pool_.Acquire(context);
    if (!lease.ok()) return lease.status();
    auto& connection = static_cast<PgConnection&>(lease->connection());

    const absl::Time start = absl::Now();
    const bool own_timeout = context.query_timeout > absl::ZeroDuration();
    const absl::Duration server_timeout = StatementTimeoutFor(
        lease->deadline() - start,
        own_timeout ? context.query_timeout : options.statement_timeout);
    if (server_timeout <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          "too little time left before the deadline to query");
    }
    absl::Status status;
    try {
      connection.EnsureStatementTimeout(server_timeout);
      status = fn(connection.get());
    } catch (...) {
      status = StatusFromCurrentException("");
    }
    lease->RecordOutcome(absl::Now() - start, status);
    const bool cancelled = lease->cancel_issued();
    if (status.ok()) return status;
    if (!cancelled && !IsConnectionLoss(status)) {
      // The caller's statements may have left a transaction or a setting
      // behind; the next caller must get a clean session.
      if (!connection.ResetSession()) lease->Discard(DiscardReason::kBroken);
    }

    if (cancelled) {
      // The pool discards this connection: the cancel may still be in flight.
      if (context.cancelled && context.cancelled()) {
        return absl::CancelledError(
            "the caller cancelled; its query was cancelled on the server");
      }
      return absl::DeadlineExceededError(absl::StrCat(
          "query cancelled on the server after ",
          absl::FormatDuration(absl::Now() - start),
          context.deadline <= lease->deadline() ? " (the call's deadline)"
          : own_timeout                         ? " (its own query timeout)"
                                                : " (DB_QUERY_TIMEOUT)"));
    }
    if (IsConnectionLoss(status) ||
        status.code() == absl::StatusCode::kUnknown) {
      lease->Discard(DiscardReason::kBroken);
    }
    if (IsConnectionLoss(status)) {
      if (access == Access::kRead && attempt == 0)
        continue;  // once, on a fresh connection
      if (access == Access::kWrite) {
        return absl::UnavailableError(
            absl::StrCat(status.message(),
                         " (the write was not committed and was not retried)"));
      }
    }
    return status;
  }
}

}  // namespace aves::db
