#include "server/db/query_metrics.h"

#include <algorithm>
#include <chrono>

#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>

#include "server/db/explain.h"
#include "server/db/statement_name.h"
#include "server/observability/logging.h"

namespace aves::db {
namespace {
thread_local CallStatements* current_call = nullptr;

constexpr size_t kMaxPlanSummaryBytes = 1024;

int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

using observability::Exposition;

CountStatementsScope::CountStatementsScope(CallStatements* into)
    : previous_(current_call) {
  current_call = into;
}

CountStatementsScope::~CountStatementsScope() { current_call = previous_; }

std::string SummarizePlan(absl::string_view explain_json) {
  absl::StatusOr<QueryPlan> plan = ParseExplainJson(explain_json);
  if (!plan.ok()) return "unavailable: EXPLAIN output not understood";
  std::string out;
  int open = 0;  // parentheses opened for children
  for (size_t i = 0; i < plan->nodes.size(); ++i) {
    const PlanNode& node = plan->nodes[i];
    if (i > 0) {
      const int previous_depth = plan->nodes[i - 1].depth;
      if (node.depth > previous_depth) {
        out += " (";
        ++open;
      } else {
        for (int d = node.depth; d < previous_depth; ++d, --open) out += ")";
        out += ", ";
      }
    }
    absl::StrAppend(&out, node.node_type);
    if (!node.index_name.empty())
      absl::StrAppend(&out, " using ", node.index_name);
    if (!node.relation_name.empty())
      absl::StrAppend(&out, " on ", node.relation_name);
    absl::StrAppend(&out, " rows=", static_cast<int64_t>(node.plan_rows));
  }
  for (; open > 0; --open) out += ")";
  if (out.size() > kMaxPlanSummaryBytes) {
    out.resize(kMaxPlanSummaryBytes - 3);
    out += "...";
  }
  return out;
}

QueryMetrics::QueryMetrics(const std::vector<PreparedStatement>& statements) {
  for (const PreparedStatement& statement : statements) {
    if (by_name_.contains(statement.name)) continue;
    // The same text that ran (the pool prepares it behind its comment), so
    // the plan is of what ran; none for a text built at run time.
    std::string explain;
    if (!statement.sql.empty()) {
      // Named "explain" first, so pg_stat_statements does not count the
      // plan as one more run of the statement.
      explain = absl::StrCat(AVES_SQL_NAME("explain") "EXPLAIN (FORMAT JSON) ",
                             absl::StartsWith(statement.sql, "/* aves:")
                                 ? statement.sql
                                 : Named(statement.name, statement.sql));
    }
    statements_.push_back(
        std::make_unique<Statement>(statement.name, std::move(explain)));
    by_name_[statement.name] = statements_.back().get();
  }
  statements_.push_back(std::make_unique<Statement>("other", ""));
}

void QueryMetrics::Configure(const SlowQueryOptions& options) {
  options_ = options;
  options_.log_size = std::max(1, options_.log_size);
}

QueryMetrics::Statement& QueryMetrics::Find(absl::string_view name) {
  auto found = by_name_.find(name);
  return found == by_name_.end() ? *statements_.back() : *found->second;
}

void QueryMetrics::Record(absl::string_view name, absl::Duration elapsed,
                          absl::string_view sqlstate_class, int64_t rows,
                          const PlanSource* plan) {
  Statement& statement = Find(name);
  statement.duration.ObserveDuration(elapsed);
  if (current_call != nullptr) {
    ++current_call->count;
    current_call->time += elapsed;
  }
  if (!sqlstate_class.empty()) {
    absl::MutexLock lock(&statement.mutex);
    ++statement.errors[std::string(sqlstate_class)];
  }
  if (elapsed > options_.threshold) {
    Slow(statement, elapsed, !sqlstate_class.empty(), rows,
         sqlstate_class.empty() ? plan : nullptr);
  }
}

bool QueryMetrics::ClaimPlan(Statement& statement) {
  if (statement.explain_sql.empty() ||
      options_.explain_interval <= absl::ZeroDuration()) {
    return false;
  }
  const int64_t now = SteadyMicros();
  int64_t next = statement.next_plan_us.load(std::memory_order_relaxed);
  return now >= next &&
         statement.next_plan_us.compare_exchange_strong(
             next, now + absl::ToInt64Microseconds(options_.explain_interval));
}

void QueryMetrics::Slow(Statement& statement, absl::Duration elapsed,
                        bool failed, int64_t rows, const PlanSource* plan) {
  statement.slow.Add();
  SlowQuery entry;
  entry.finished_at = absl::Now();
  entry.query = statement.name;
  entry.rpc = current_call != nullptr ? current_call->rpc : "";
  entry.duration = elapsed;
  entry.rows = rows;
  entry.failed = failed;
  if (plan != nullptr && ClaimPlan(statement)) {
    absl::StatusOr<std::string> json = (*plan)(statement.explain_sql);
    entry.plan =
        json.ok()
            ? SummarizePlan(*json)
            : absl::StrCat("unavailable: ",
                           absl::StatusCodeToString(json.status().code()));
    entry.plan_taken_at = entry.finished_at;
    absl::MutexLock lock(&statement.mutex);
    statement.latest_plan = entry.plan;
    statement.latest_plan_at = entry.plan_taken_at;
  } else {
    absl::MutexLock lock(&statement.mutex);
    entry.plan = statement.latest_plan;
    entry.plan_taken_at = statement.latest_plan_at;
  }
  // Name, RPC, time and size only: parameters can be personal data.
  const bool fresh_plan = entry.plan_taken_at == entry.finished_at;
  observability::Logger("query")->warn(
      "slow query: query={} rpc={} ms={:.1f} rows={}{}{}", statement.name,
      entry.rpc.empty() ? "-" : entry.rpc, absl::ToDoubleMilliseconds(elapsed),
      rows, failed ? " failed" : "",
      fresh_plan ? absl::StrCat(" plan=\"", entry.plan, "\"") : "");
  absl::MutexLock lock(&log_mutex_);
  ++total_slow_;
  if (log_.size() < static_cast<size_t>(options_.log_size)) {
    log_.push_back(std::move(entry));
  } else {
    log_[log_next_] = std::move(entry);
  }
  log_next_ = (log_next_ + 1) % static_cast<size_t>(options_.log_size);
}

std::vector<SlowQuery> QueryMetrics::SlowQueries(int limit) const {
  absl::MutexLock lock(&log_mutex_);
  const size_t count = limit <= 0
                           ? log_.size()
                           : std::min(log_.size(), static_cast<size_t>(limit));
  std::vector<SlowQuery> newest_first;
  newest_first.reserve(count);
  for (size_t i = 1; i <= count; ++i) {
    newest_first.push_back(log_[(log_next_ + log_.size() - i) % log_.size()]);
  }
  return newest_first;
}

int64_t QueryMetrics::total_slow() const {
  absl::MutexLock lock(&log_mutex_);
  return total_slow_;
}

void QueryMetrics::Collect(Exposition& out) const {
  out.Family("aves_db_query_duration_seconds", Exposition::Type::kHistogram,
             "Time of each named statement, from send to result.");
  for (const auto& statement : statements_) {
    out.Histogram("aves_db_query_duration_seconds",
                  {{"query", statement->name}}, statement->duration.Snapshot());
  }
  out.Family("aves_db_query_errors_total", Exposition::Type::kCounter,
             "Named statements that failed, by SQLSTATE class.");
  for (const auto& statement : statements_) {
    absl::MutexLock lock(&statement->mutex);
    for (const auto& [sqlstate_class, count] : statement->errors) {
      out.Sample(
          "aves_db_query_errors_total",
          {{"query", statement->name}, {"sqlstate_class", sqlstate_class}},
          count);
    }
  }
  out.Family("aves_db_slow_queries_total", Exposition::Type::kCounter,
             "Named statements slower than AVES_SLOW_QUERY_MS.");
  for (const auto& statement : statements_) {
    out.Sample("aves_db_slow_queries_total", {{"query", statement->name}},
               statement->slow.value());
  }
}

}  // namespace aves::db
