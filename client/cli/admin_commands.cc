// health, pool, migrations, verify-indexes, slow-queries, top: the
// operator's commands.
#include <algorithm>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "client/lib/admin_client.h"
#include "client/lib/channel.h"
#include "client/lib/health_client.h"

namespace aves::cli {
namespace {

client::AdminClient AdminOf(const Invocation& invocation) {
  return client::AdminClient(ChannelOf(invocation), CallOptionsOf(invocation));
}

void PrintPool(const data::v1::GetPoolStatsResponse& s) {
  PrintTable({{"connections", "total", "idle", "in use", "opening", "waiting",
               "min", "max"},
              {"", std::to_string(s.total()), std::to_string(s.idle()),
               std::to_string(s.in_use()), std::to_string(s.opening()),
               std::to_string(s.waiting()), std::to_string(s.min()),
               std::to_string(s.max())}});
  std::cout << "\ndatabase reachable: "
            << (s.database_reachable() ? "yes" : "NO")
            << (s.last_connect_error().empty()
                    ? ""
                    : "  (last error: " + s.last_connect_error() + ")")
            << "\noldest waiter: " << Millis(s.oldest_waiter_age())
            << " ms\n\n";
  std::vector<std::vector<std::string>> counters = {{"counter", "value"}};
  auto add = [&counters](const std::string& name, int64_t value) {
    counters.push_back({name, std::to_string(value)});
  };
  add("connections opened", s.connections_opened());
  add("connect failures", s.connect_failures());
  add("connections closed", s.connections_closed());
  for (const auto& [reason, count] : s.discarded_by_reason())
    add("  closed: " + reason, count);
  add("acquired", s.acquired());
  add("acquire timeouts", s.acquire_timeouts());
  add("rejected (pool full)", s.rejected_full());
  add("rejected (database unreachable)", s.rejected_unavailable());
  add("queries cancelled", s.cancels());
  add("queries aborted", s.aborts());
  add("lease warnings", s.lease_warnings());
  for (const auto& [code, count] : s.errors_by_code())
    add("errors: " + code, count);
  add("errors in the last minute", s.errors_last_minute());
  PrintTable(counters);
  std::cout << "\n";
  std::vector<std::vector<std::string>> latencies = {
      {"latency (ms)", "count", "p50", "p95", "p99", "max"}};
  for (const auto& [name, summary] :
       {std::pair{"acquire wait", &s.acquire_wait()},
        std::pair{"query time", &s.query_time()}}) {
    latencies.push_back({name, std::to_string(summary->count()),
                         Millis(summary->p50()), Millis(summary->p95()),
                         Millis(summary->p99()), Millis(summary->max())});
  }
  PrintTable(latencies);
}

}  // namespace

int HealthCommand(const Invocation& invocation) {
  client::HealthClient health(ChannelOf(invocation), CallOptionsOf(invocation));
  absl::StatusOr<client::ServingStatus> status =
      health.Check(invocation.service);
  if (!status.ok()) return PrintError(status.status());
  std::cout << client::ServingStatusName(*status) << "\n";
  return *status == client::ServingStatus::kServing ? 0 : 1;
}

int PoolCommand(const Invocation& invocation) {
  absl::StatusOr<data::v1::GetPoolStatsResponse> stats =
      AdminOf(invocation).GetPoolStats();
  if (!stats.ok()) return PrintError(stats.status());
  invocation.json ? PrintJson(*stats) : PrintPool(*stats);
  return 0;
}

int MigrationsCommand(const Invocation& invocation) {
  absl::StatusOr<data::v1::GetMigrationStatusResponse> status =
      AdminOf(invocation).GetMigrationStatus();
  if (!status.ok()) return PrintError(status.status());
  if (invocation.json) {
    PrintJson(*status);
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"version", "name", "state", "applied at", "ms"}};
    for (const auto& migration : status->migrations()) {
      rows.push_back(
          {std::to_string(migration.version()), migration.name(),
           !migration.applied()            ? "pending"
           : migration.checksum_mismatch() ? "CHANGED"
                                           : "applied",
           migration.applied() ? google::protobuf::util::TimeUtil::ToString(
                                     migration.applied_at())
                               : "-",
           migration.applied() ? std::to_string(migration.duration_ms())
                               : "-"});
    }
    PrintTable(rows);
    std::cout << "schema "
              << (status->schema_current() ? "current" : "NOT current") << "\n";
  }
  return status->schema_current() ? 0 : 3;
}

int VerifyIndexesCommand(const Invocation& invocation) {
  absl::StatusOr<data::v1::VerifyIndexesResponse> result =
      AdminOf(invocation).VerifyIndexes();
  if (!result.ok()) return PrintError(result.status());
  if (invocation.json) {
    PrintJson(*result);
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"query", "plan", "intended index", "can use", "chosen now",
         "plan now uses"}};
    int chosen = 0;
    for (const auto& check : result->checks()) {
      std::string used;
      for (const std::string& index : check.plan_indexes())
        used += (used.empty() ? "" : ", ") + index;
      chosen += check.chosen_at_current_size() ? 1 : 0;
      rows.push_back({check.query(), check.plan_mode(), check.intended_index(),
                      check.can_use_index() ? "yes" : "FAIL",
                      check.chosen_at_current_size() ? "yes" : "no",
                      used.empty() ? "(no index)" : used});
    }
    PrintTable(rows);
    std::cout << (result->all_passed()
                      ? "every query can use its index"
                      : "FAIL: some queries cannot use their indexes")
              << "; the planner chooses it in " << chosen << " of "
              << result->checks_size() << " plans at the current table sizes"
              << (result->all_chosen()
                      ? "\n"
                      : " (on small tables a sequential scan is cheaper: "
                        "expected until the tables grow)\n");
  }
  return result->all_passed() ? 0 : 1;
}

int SlowQueriesCommand(const Invocation& invocation) {
  const CommandOptions& options = invocation.options;
  if (!options.Only({"limit"})) return 2;
  int limit = 0;
  if (!options.Int("limit", &limit)) return 2;
  absl::StatusOr<data::v1::ListSlowQueriesResponse> result =
      AdminOf(invocation).ListSlowQueries(limit);
  if (!result.ok()) return PrintError(result.status());
  if (invocation.json) {
    PrintJson(*result);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"finished at", "query", "rpc", "ms", "rows", "plan"}};
  for (const auto& query : result->queries()) {
    std::string plan = query.plan().empty() ? "(no plan yet)" : query.plan();
    if (!query.plan().empty() &&
        !google::protobuf::util::MessageDifferencer::Equals(
            query.plan_taken_at(), query.finished_at())) {
      plan +=
          "  (taken " +
          google::protobuf::util::TimeUtil::ToString(query.plan_taken_at()) +
          ")";
    }
    rows.push_back(
        {google::protobuf::util::TimeUtil::ToString(query.finished_at()),
         query.query(), query.rpc().empty() ? "-" : query.rpc(),
         Millis(query.duration()),
         std::to_string(query.rows()) + (query.failed() ? " FAILED" : ""),
         plan});
  }
  PrintTable(rows);
  std::cout << result->total_slow() << " statement(s) slower than "
            << Millis(result->threshold()) << " ms since avesd started; the "
            << result->capacity() << " newest are kept\n";
  return 0;
}

int TopCommand(const Invocation& invocation) {
  const CommandOptions& options = invocation.options;
  if (!options.Only({"by", "limit"})) return 2;
  int limit = 0;
  if (!options.Int("limit", &limit)) return 2;
  using Request = data::v1::GetQueryStatsRequest;
  const std::string by = options.Has("by") ? options.Get("by") : "total";
  Request::Order order;
  if (by == "total") {
    order = Request::ORDER_TOTAL_TIME;
  } else if (by == "mean") {
    order = Request::ORDER_MEAN_TIME;
  } else if (by == "calls") {
    order = Request::ORDER_CALLS;
  } else {
    std::cerr << "error: --by wants total, mean or calls\n";
    return 2;
  }
  absl::StatusOr<data::v1::GetQueryStatsResponse> result =
      AdminOf(invocation).GetQueryStats(order, limit);
  if (!result.ok()) return PrintError(result.status());
  if (invocation.json) {
    PrintJson(*result);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"query", "calls", "total ms", "mean ms", "rows", "hit %", "text"}};
  for (const auto& stat : result->statements()) {
    std::string text = stat.text();
    for (char& c : text) {
      if (c == '\n' || c == '\t' || c == '\r') c = ' ';
    }
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    rows.push_back(
        {stat.query().empty() ? "-" : stat.query(),
         std::to_string(stat.calls()), Millis(stat.total_time()),
         Millis(stat.mean_time()), std::to_string(stat.rows()),
         std::to_string(static_cast<int>(stat.cache_hit_ratio() * 100 + 0.5)),
         text});
  }
  PrintTable(rows);
  std::cout << "window: "
            << google::protobuf::util::TimeUtil::ToString(
                   result->window_start())
            << " to "
            << google::protobuf::util::TimeUtil::ToString(result->window_end())
            << "\n";
  return 0;
}

namespace {

// maintenance status: AdminService.GetIndexHealth.
int IndexStatus(const Invocation& invocation) {
  if (!invocation.options.Only({})) return 2;
  absl::StatusOr<data::v1::GetIndexHealthResponse> health =
      client::AdminClient(ChannelOf(invocation), CallOptionsOf(invocation))
          .GetIndexHealth();
  if (!health.ok()) return PrintError(health.status());
  if (invocation.json) {
    PrintJson(*health);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"table", "index", "valid", "scans", "size", "bloat (est.)", "covered by",
       "constraint"}};
  int problems = 0;
  for (const data::v1::IndexHealth& index : health->indexes()) {
    std::string covered;
    for (const std::string& other : index.covered_by()) {
      covered += (covered.empty() ? "" : ", ") + other;
    }
    if (!index.valid() ||
        (!index.enforces_constraint() &&
         (index.scans() == 0 || index.covered_by_size() > 0))) {
      ++problems;
    }
    rows.push_back({index.table(), index.index(), index.valid() ? "yes" : "NO",
                    std::to_string(index.scans()),
                    std::to_string(index.size_bytes()),
                    std::to_string(index.estimated_bloat_bytes()),
                    covered.empty() ? "-" : covered,
                    index.enforces_constraint() ? "yes" : "-"});
  }
  PrintTable(rows);
  std::cout << "\nscans since "
            << (health->has_stats_since()
                    ? google::protobuf::util::TimeUtil::ToString(
                          health->stats_since())
                    : std::string("the statistics began"))
            << "; " << problems
            << " index(es) invalid, unused or covered (not counting "
               "constraints)\n";
  return 0;
}

// maintenance reindex: AdminService.ReindexIndex.
int Reindex(const Invocation& invocation) {
  if (!invocation.options.Only({"index"})) return 2;
  const std::string index = invocation.options.Get("index");
  if (index.empty()) {
    std::cerr << "error: maintenance reindex needs --index=NAME "
                 "(avesctl maintenance status lists them)\n";
    return 2;
  }
  client::CallOptions options = CallOptionsOf(invocation);
  // A rebuild reads the whole table: more than a call's usual few seconds.
  options.timeout = std::max(options.timeout, absl::Minutes(15));
  absl::StatusOr<data::v1::ReindexIndexResponse> run =
      client::AdminClient(ChannelOf(invocation), options).ReindexIndex(index);
  if (!run.ok()) return PrintError(run.status());
  if (invocation.json) {
    PrintJson(*run);
    return 0;
  }
  std::cout << "job " << run->job_id() << ": " << index << " rebuilt, "
            << run->size_bytes_before() << " -> " << run->size_bytes_after()
            << " bytes\n";
  return 0;
}

}  // namespace

int MaintenanceCommand(const Invocation& invocation) {
  if (invocation.words[1] == "status") return IndexStatus(invocation);
  if (invocation.words[1] == "reindex") return Reindex(invocation);
  if (invocation.words[1] != "analyze") {
    std::cerr << "error: unknown maintenance command '" << invocation.words[1]
              << "' (analyze, reindex, status)\n";
    return 2;
  }
  if (!invocation.options.Only({"table", "dry-run"})) return 2;
  const bool dry_run = invocation.options.Has("dry-run");
  client::CallOptions options = CallOptionsOf(invocation);
  // A run ANALYZEs whole tables: more than a call's usual few seconds.
  if (!dry_run) options.timeout = std::max(options.timeout, absl::Minutes(15));
  absl::StatusOr<data::v1::RunAnalyzeResponse> run =
      client::AdminClient(ChannelOf(invocation), options)
          .RunAnalyze(invocation.options.Get("table"), dry_run);
  if (!run.ok()) return PrintError(run.status());
  if (invocation.json) {
    PrintJson(*run);
    return 0;
  }
  auto when = [](bool has, const google::protobuf::Timestamp& at) {
    return has ? google::protobuf::util::TimeUtil::ToString(at)
               : std::string("never");
  };
  std::vector<std::vector<std::string>> rows = {
      {"table", "modified since analyze", "live rows", "last analyze",
       "last autoanalyze", "due"}};
  for (const data::v1::TableStatistics& table : run->tables()) {
    rows.push_back(
        {table.table(), std::to_string(table.modified_since_analyze()),
         std::to_string(table.live_rows()),
         when(table.has_last_analyze(), table.last_analyze()),
         when(table.has_last_autoanalyze(), table.last_autoanalyze()),
         table.due().empty() ? "-" : table.due()});
  }
  PrintTable(rows);
  if (dry_run) return 0;
  std::cout << "\njob " << run->job_id() << ": " << run->analyzed_size()
            << " analyzed, " << run->failed_size() << " failed\n";
  for (const std::string& failure : run->failed()) {
    std::cout << "  " << failure << "\n";
  }
  return run->failed_size() == 0 ? 0 : 1;
}

}  // namespace aves::cli
