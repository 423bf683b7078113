// Per named statement: how long it takes (aves_db_query_duration_seconds
// {query}), how it fails (aves_db_query_errors_total{query,sqlstate_class}),
// and how often it was slower than AVES_SLOW_QUERY_MS
// (aves_db_slow_queries_total{query}, each also a warning in the log with its
// name, duration and rows, never its parameters). The names are the fixed
// set of prepared statements, so a scrape's series are bounded; anything
// else counts as "other". Recording is lock-free but for a failure's class.
#ifndef AVES_SERVER_DB_QUERY_METRICS_H_
#define AVES_SERVER_DB_QUERY_METRICS_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/container/flat_hash_map.h>
#include <absl/strings/string_view.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>

#include "server/observability/metrics.h"

namespace aves::db {

// The statements one RPC ran and their database time, for its access-log
// line (one statement per item shows up at once: the N+1 pattern).
struct CallStatements {
  int64_t count = 0;
  absl::Duration time = absl::ZeroDuration();
};

// While it lives, the statements this thread records (QueryMetrics::Record)
// also count into `into`. Handlers put one around an RPC's work: the work,
// its stores and their statements run on that thread (Database::Run calls
// its function on the caller's thread).
class CountStatementsScope {
 public:
  explicit CountStatementsScope(CallStatements* into);
  ~CountStatementsScope();
  CountStatementsScope(const CountStatementsScope&) = delete;
  CountStatementsScope& operator=(const CountStatementsScope&) = delete;

 private:
  CallStatements* previous_;
};

class QueryMetrics {
 public:
  explicit QueryMetrics(const std::vector<std::string>& names);

  void set_slow_threshold(absl::Duration threshold) {
    slow_threshold_us_.store(absl::ToInt64Microseconds(threshold),
                             std::memory_order_relaxed);
  }

  // One execution of `name`: `sqlstate_class` empty when it succeeded
  // (returning `rows`), else the SQLSTATE's two-character class ("23") or
  // "unknown".
  void Record(absl::string_view name, absl::Duration elapsed,
              absl::string_view sqlstate_class, int64_t rows);

  void Collect(observability::Exposition& out) const;

 private:
  struct Statement {
    explicit Statement(std::string n) : name(std::move(n)) {}
    std::string name;
    observability::Histogram duration;
    observability::Counter slow;
    mutable absl::Mutex mutex;
    std::map<std::string, uint64_t> errors ABSL_GUARDED_BY(mutex);
  };
  Statement& Find(absl::string_view name);

  std::vector<std::unique_ptr<Statement>> statements_;    // the last: "other"
  absl::flat_hash_map<std::string, Statement*> by_name_;  // fixed at start
  std::atomic<int64_t> slow_threshold_us_{200'000};
};

}  // namespace aves::db

#endif  // AVES_SERVER_DB_QUERY_METRICS_H_
