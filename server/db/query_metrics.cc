#include "server/db/query_metrics.h"

#include "server/observability/logging.h"

namespace aves::db {
namespace {
thread_local CallStatements* current_call = nullptr;
}  // namespace

using observability::Exposition;

CountStatementsScope::CountStatementsScope(CallStatements* into)
    : previous_(current_call) {
  current_call = into;
}

CountStatementsScope::~CountStatementsScope() { current_call = previous_; }

QueryMetrics::QueryMetrics(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (by_name_.contains(name)) continue;
    statements_.push_back(std::make_unique<Statement>(name));
    by_name_[name] = statements_.back().get();
  }
  statements_.push_back(std::make_unique<Statement>("other"));
}

QueryMetrics::Statement& QueryMetrics::Find(absl::string_view name) {
  auto found = by_name_.find(name);
  return found == by_name_.end() ? *statements_.back() : *found->second;
}

void QueryMetrics::Record(absl::string_view name, absl::Duration elapsed,
                          absl::string_view sqlstate_class, int64_t rows) {
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
  if (absl::ToInt64Microseconds(elapsed) >
      slow_threshold_us_.load(std::memory_order_relaxed)) {
    statement.slow.Add();
    // Name, time and size only: parameters can be personal data.
    observability::Logger("query")->warn(
        "slow query: query={} ms={:.1f} rows={}{}", statement.name,
        absl::ToDoubleMilliseconds(elapsed), rows,
        sqlstate_class.empty() ? "" : " failed");
  }
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
