// Per named statement: how long it takes (aves_db_query_duration_seconds
// {query}), how it fails (aves_db_query_errors_total{query,sqlstate_class}),
// and how often it was slower than AVES_SLOW_QUERY_MS
// (aves_db_slow_queries_total{query}). A slow one is also a warning in the
// log with its name, RPC, duration and rows -- never its parameters: they can
// be personal data -- and is kept in the slow-query log (the last
// AVES_SLOW_QUERY_LOG_SIZE) with its plan, taken at most once per name per
// AVES_SLOW_QUERY_EXPLAIN_INTERVAL_MS. The names are the fixed set of
// prepared statements, so a scrape's series are bounded; anything else
// counts as "other". Recording is lock-free but for a failure's class and a
// slow statement.
#ifndef AVES_SERVER_DB_QUERY_METRICS_H_
#define AVES_SERVER_DB_QUERY_METRICS_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/container/flat_hash_map.h>
#include <absl/functional/function_ref.h>
#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>

#include "server/db/prepared_statement.h"
#include "server/observability/metrics.h"

namespace aves::db {

// The statements one RPC ran and their database time, for its access-log
// line (one statement per item shows up at once: the N+1 pattern).
struct CallStatements {
  // The RPC ("ExerciseCacheService.GetExercise"), for slow-query lines.
  const char* rpc = "";
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

// One statement of the slow-query log.
struct SlowQuery {
  absl::Time finished_at;
  std::string query;  // the statement's name
  std::string rpc;    // empty for avesd's own work
  absl::Duration duration;
  int64_t rows = 0;
  bool failed = false;
  // SummarizePlan of its plan, or of the statement's latest plan when none was
  // taken for this one; empty when none was ever taken.
  std::string plan;
  absl::Time plan_taken_at = absl::InfinitePast();
};

struct SlowQueryOptions {
  absl::Duration threshold = absl::Milliseconds(200);
  absl::Duration explain_interval = absl::Seconds(60);  // zero: never
  int log_size = 100;
};

class QueryMetrics {
 public:
  // The named statements: the pool's prepared ones and those sent as text
  // (an empty text: built at run time, timed but never planned).
  explicit QueryMetrics(const std::vector<PreparedStatement>& statements);

  // Before serving (the options are read without a lock).
  void Configure(const SlowQueryOptions& options);
  const SlowQueryOptions& options() const { return options_; }

  // EXPLAIN (FORMAT JSON) of a statement's text with its $n parameters
  // unbound: the caller runs it with the execution's own parameters on the
  // execution's connection and returns the JSON (or why it could not).
  using PlanSource =
      absl::FunctionRef<absl::StatusOr<std::string>(const std::string& sql)>;

  // One execution of `name`: `sqlstate_class` empty when it succeeded
  // (returning `rows`), else the SQLSTATE's two-character class ("23") or
  // "unknown". When it was slow, a plan is due for the name and `plan` is
  // given, the plan is taken through it before the slow query is logged.
  void Record(absl::string_view name, absl::Duration elapsed,
              absl::string_view sqlstate_class, int64_t rows,
              const PlanSource* plan = nullptr);

  // The slow-query log, newest first, at most `limit` (0: all kept).
  std::vector<SlowQuery> SlowQueries(int limit) const;
  int64_t total_slow() const;

  void Collect(observability::Exposition& out) const;

 private:
  struct Statement {
    Statement(std::string n, std::string s)
        : name(std::move(n)), explain_sql(std::move(s)) {}
    std::string name;
    std::string explain_sql;  // empty for "other"
    observability::Histogram duration;
    observability::Counter slow;
    // When the next plan may be taken (steady micros); claimed by CAS.
    std::atomic<int64_t> next_plan_us{0};
    mutable absl::Mutex mutex;
    std::map<std::string, uint64_t> errors ABSL_GUARDED_BY(mutex);
    std::string latest_plan ABSL_GUARDED_BY(mutex);
    absl::Time latest_plan_at ABSL_GUARDED_BY(mutex) = absl::InfinitePast();
  };
  Statement& Find(absl::string_view name);
  bool ClaimPlan(Statement& statement);
  void Slow(Statement& statement, absl::Duration elapsed, bool failed,
            int64_t rows, const PlanSource* plan);

  std::vector<std::unique_ptr<Statement>> statements_;    // the last: "other"
  absl::flat_hash_map<std::string, Statement*> by_name_;  // fixed at start
  SlowQueryOptions options_;

  mutable absl::Mutex log_mutex_;
  std::vector<SlowQuery> log_ ABSL_GUARDED_BY(log_mutex_);  // a ring
  size_t log_next_ ABSL_GUARDED_BY(log_mutex_) = 0;
  int64_t total_slow_ ABSL_GUARDED_BY(log_mutex_) = 0;
};

// A plan as one line: node types with their index and relation and the
// planner's row estimate, children in parentheses:
// "Limit rows=1 (Seq Scan on exercise_cache rows=1)". At most 1 KiB.
std::string SummarizePlan(absl::string_view explain_json);

}  // namespace aves::db

#endif  // AVES_SERVER_DB_QUERY_METRICS_H_
