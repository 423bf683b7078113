// Runs one named statement under QueryMetrics: for the stores' .cc files,
// which may use libpqxx (this header includes it).
//   pqxx::result rows = db::Timed(&metrics, kGetJob.name,
//                                 [&] { return tx.exec_prepared(...); });
#ifndef AVES_SERVER_DB_TIMED_EXEC_H_
#define AVES_SERVER_DB_TIMED_EXEC_H_

#include <chrono>
#include <string>
#include <utility>

#include <absl/status/statusor.h>
#include <absl/time/time.h>
#include <pqxx/pqxx>

#include "server/db/errors.h"
#include "server/db/query_metrics.h"
#include "server/db/statement_name.h"

namespace aves::db {

// The class of a failure's SQLSTATE ("23" for a unique violation), or
// "unknown" when libpqxx did not keep the state.
inline std::string SqlStateClass(const pqxx::sql_error& error) {
  const std::string& state = error.sqlstate();
  return state.size() == 5 ? state.substr(0, 2) : "unknown";
}

// The JSON `explain(tx)` returns for EXPLAIN (FORMAT JSON): in a savepoint
// when `tx` is a transaction block, so a failed EXPLAIN cannot abort the
// caller's transaction. The savepoint is plain SQL: libpqxx 6.4's
// subtransaction sends its SAVEPOINT only with an exec(), not with the
// exec_params() the EXPLAIN needs.
template <typename Explain>
absl::StatusOr<std::string> ExplainJson(pqxx::transaction_base& tx,
                                        Explain&& explain) {
  const bool block = dynamic_cast<pqxx::dbtransaction*>(&tx) != nullptr;
  try {
    if (block) tx.exec("SAVEPOINT aves_explain");
    std::string json = explain(tx)[0][0].template as<std::string>();
    if (block) tx.exec("RELEASE SAVEPOINT aves_explain");
    return json;
  } catch (...) {
    absl::Status failed = StatusFromCurrentException("EXPLAIN");
    if (block) {
      try {
        tx.exec("ROLLBACK TO SAVEPOINT aves_explain");
        tx.exec("RELEASE SAVEPOINT aves_explain");
      } catch (...) {
        // The connection is gone: the caller's next statement says so.
      }
    }
    return failed;
  }
}

// Runs `run` and records it under `name`; when it was slow and a plan is due,
// `plan(explain_sql)` takes it (QueryMetrics::PlanSource).
template <typename Run, typename Plan>
pqxx::result Timed(QueryMetrics* metrics, absl::string_view name, Run&& run,
                   Plan&& plan) {
  if (metrics == nullptr) return run();
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return absl::FromChrono(std::chrono::steady_clock::now() - start);
  };
  try {
    pqxx::result result = run();
    const QueryMetrics::PlanSource source(plan);
    metrics->Record(name, elapsed(), "",
                    result.empty() ? result.affected_rows()
                                   : static_cast<int64_t>(result.size()),
                    &source);
    return result;
  } catch (const pqxx::broken_connection&) {
    metrics->Record(name, elapsed(), "08", 0);
    throw;
  } catch (const pqxx::sql_error& error) {
    metrics->Record(name, elapsed(), SqlStateClass(error), 0);
    throw;
  } catch (...) {
    metrics->Record(name, elapsed(), "unknown", 0);
    throw;
  }
}

// `run` under `name`, with no plan for it when slow (a statement whose text
// QueryMetrics does not know).
template <typename Run>
pqxx::result Timed(QueryMetrics* metrics, absl::string_view name, Run&& run) {
  return Timed(metrics, name, std::forward<Run>(run),
               [](const std::string&) -> absl::StatusOr<std::string> {
                 return absl::UnimplementedError("no plan for this statement");
               });
}

// `tx.exec_prepared(name, args...)`, timed; a slow one's plan is EXPLAIN of
// the same text with the same parameters on the same connection (never
// ANALYZE: it would run a write twice).
template <typename... Args>
pqxx::result ExecPrepared(QueryMetrics& metrics, pqxx::transaction_base& tx,
                          const char* name, const Args&... args) {
  return Timed(
      &metrics, name, [&] { return tx.exec_prepared(name, args...); },
      [&](const std::string& explain_sql) {
        return ExplainJson(tx, [&](pqxx::transaction_base& on) {
          return on.exec_params(explain_sql, args...);
        });
      });
}

// `tx.exec_params(sql, args...)` of a text that names itself
// (AVES_SQL_NAME), timed under that name; a slow one's plan as for
// ExecPrepared when the Database knows the text.
template <typename... Args>
pqxx::result ExecParams(QueryMetrics& metrics, pqxx::transaction_base& tx,
                        const std::string& sql, const Args&... args) {
  return Timed(
      &metrics, StatementNameOf(sql),
      [&] { return tx.exec_params(sql, args...); },
      [&](const std::string& explain_sql) {
        return ExplainJson(tx, [&](pqxx::transaction_base& on) {
          return on.exec_params(explain_sql, args...);
        });
      });
}

// `tx.exec(sql)` of a text that names itself, timed under that name (texts
// built at run time: DDL, statements over a load's columns).
inline pqxx::result ExecText(QueryMetrics& metrics, pqxx::transaction_base& tx,
                             const std::string& sql) {
  return Timed(&metrics, StatementNameOf(sql), [&] { return tx.exec(sql); });
}

}  // namespace aves::db

#endif  // AVES_SERVER_DB_TIMED_EXEC_H_
