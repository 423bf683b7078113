// Runs one named statement under QueryMetrics: for the stores' .cc files,
// which may use libpqxx (this header includes it).
//   pqxx::result rows = db::Timed(&metrics, kGetJob.name,
//                                 [&] { return tx.exec_prepared(...); });
#ifndef AVES_SERVER_DB_TIMED_EXEC_H_
#define AVES_SERVER_DB_TIMED_EXEC_H_

#include <chrono>
#include <string>
#include <utility>

#include <absl/time/time.h>
#include <pqxx/pqxx>

#include "server/db/query_metrics.h"

namespace aves::db {

// The class of a failure's SQLSTATE ("23" for a unique violation), or
// "unknown" when libpqxx did not keep the state.
inline std::string SqlStateClass(const pqxx::sql_error& error) {
  const std::string& state = error.sqlstate();
  return state.size() == 5 ? state.substr(0, 2) : "unknown";
}

template <typename Run>
pqxx::result Timed(QueryMetrics* metrics, const char* name, Run&& run) {
  if (metrics == nullptr) return run();
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return absl::FromChrono(std::chrono::steady_clock::now() - start);
  };
  try {
    pqxx::result result = run();
    metrics->Record(name, elapsed(), "",
                    result.empty() ? result.affected_rows()
                                   : static_cast<int64_t>(result.size()));
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

// `tx.exec_prepared(name, args...)`, timed.
template <typename... Args>
pqxx::result ExecPrepared(QueryMetrics& metrics, pqxx::transaction_base& tx,
                          const char* name, Args&&... args) {
  return Timed(&metrics, name, [&] {
    return tx.exec_prepared(name, std::forward<Args>(args)...);
  });
}

}  // namespace aves::db

#endif  // AVES_SERVER_DB_TIMED_EXEC_H_
