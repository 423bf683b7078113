#include "server/store/query_stats.h"

#include <algorithm>
#include <regex>
#include <utility>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <pqxx/pqxx>

#include "server/common/status_macros.h"
#include "server/db/database.h"
#include "server/db/timed_exec.h"

namespace aves::store {
namespace {

constexpr char kHowToEnable[] =
    "pg_stat_statements is needed: add shared_preload_libraries = "
    "'pg_stat_statements' to postgresql.conf, restart PostgreSQL, and run "
    "CREATE EXTENSION pg_stat_statements as a superuser in this database "
    "(migration 019 does when the migrating role is one)";

// Entries of this database whose queryid the role may see: other roles'
// statements hide it without pg_read_all_stats and cannot be told apart.
constexpr char kReadStatements[] =
    "/* aves:query_stats */ SELECT userid::text || '/' || queryid::text || "
    "'/' || toplevel::text, queryid::text, left(query, 1024), calls, "
    "total_exec_time, rows, shared_blks_hit, shared_blks_read FROM {} "
    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = "
    "current_database()) AND queryid IS NOT NULL";

constexpr size_t kMaxSnapshots = 3;

}  // namespace

QueryStats::QueryStats(db::Database& database, absl::Duration interval)
    : database_(database), interval_(interval) {}

std::string QueryStats::NameFromText(const std::string& text) {
  static const std::regex* comment =
      new std::regex(R"(/\* aves:([a-z0-9_]{1,64}) \*/)");
  std::smatch match;
  // The comment opens the text (or follows "PREPARE x AS" for SQL-level
  // prepares); searching a bounded prefix keeps this cheap.
  const std::string head = text.substr(0, 200);
  return std::regex_search(head, match, *comment) ? match[1].str() : "";
}

absl::StatusOr<QueryStats::Snapshot> QueryStats::Read(
    const common::CallContext& context) {
  Snapshot snapshot;
  bool installed = true;
  RETURN_IF_ERROR(database_.Run(
      context, db::Access::kRead, [&](pqxx::connection_base& connection) {
        pqxx::read_transaction tx(connection);
        // Timed as "other" (not prepared), so the RPC's statement count and
        // the query metrics include them.
        db::QueryMetrics* metrics = &database_.query_metrics();
        pqxx::result schema = db::Timed(metrics, "query_stats", [&] {
          return tx.exec(
              "/* aves:query_stats */ SELECT n.nspname FROM pg_extension e "
              "JOIN pg_namespace n ON n.oid = e.extnamespace "
              "WHERE e.extname = 'pg_stat_statements'");
        });
        if (schema.empty()) {
          installed = false;
          return absl::OkStatus();
        }
        // The schema's name comes from the catalog and is quoted.
        std::string sql = kReadStatements;
        sql.replace(sql.find("{}"), 2,
                    absl::StrCat(tx.quote_name(schema[0][0].as<std::string>()),
                                 ".pg_stat_statements"));
        try {
          const pqxx::result rows =
              db::Timed(metrics, "query_stats", [&] { return tx.exec(sql); });
          for (const pqxx::row& row : rows) {
            QueryStat stat;
            stat.query_id = row[1].as<std::string>();
            stat.text = row[2].is_null() ? "" : row[2].as<std::string>();
            stat.name = NameFromText(stat.text);
            stat.calls = row[3].as<int64_t>();
            stat.total_time = absl::Microseconds(
                static_cast<int64_t>(row[4].as<double>() * 1000));
            stat.rows = row[5].as<int64_t>();
            stat.blocks_hit = row[6].as<int64_t>();
            stat.blocks_read = row[7].as<int64_t>();
            snapshot.entries[row[0].as<std::string>()] = std::move(stat);
          }
        } catch (const pqxx::sql_error& error) {
          // 55000: created but not in shared_preload_libraries.
          if (error.sqlstate() == "55000" ||
              std::string(error.what()).find("shared_preload_libraries") !=
                  std::string::npos) {
            installed = false;
            return absl::OkStatus();
          }
          throw;
        }
        return absl::OkStatus();
      }));
  if (!installed) return absl::FailedPreconditionError(kHowToEnable);
  snapshot.taken_at = absl::Now();
  return snapshot;
}

absl::Status QueryStats::Sample(const common::CallContext& context) {
  ASSIGN_OR_RETURN(Snapshot snapshot, Read(context));
  absl::MutexLock lock(&mutex_);
  snapshots_.push_back(std::move(snapshot));
  while (snapshots_.size() > kMaxSnapshots) snapshots_.pop_front();
  return absl::OkStatus();
}

absl::StatusOr<QueryStatsWindow> QueryStats::Window(
    const common::CallContext& context, QueryStatsOrder order, int limit) {
  ASSIGN_OR_RETURN(Snapshot now, Read(context));
  QueryStatsWindow window;
  window.end = now.taken_at;
  absl::flat_hash_map<std::string, QueryStat> baseline;
  {
    absl::MutexLock lock(&mutex_);
    if (snapshots_.empty()) {
      // No window yet: this read starts the first one.
      window.start = now.taken_at;
      snapshots_.push_back(std::move(now));
      return window;
    }
    const Snapshot* chosen = &snapshots_.front();
    for (const Snapshot& snapshot : snapshots_) {
      if (now.taken_at - snapshot.taken_at >= interval_) chosen = &snapshot;
    }
    window.start = chosen->taken_at;
    baseline = chosen->entries;
  }
  for (auto& [key, stat] : now.entries) {
    auto before = baseline.find(key);
    // An entry evicted (pg_stat_statements.max) or reset by another tool
    // since the baseline starts again from zero.
    if (before != baseline.end() && before->second.calls <= stat.calls) {
      stat.calls -= before->second.calls;
      stat.total_time -= before->second.total_time;
      stat.rows -= before->second.rows;
      stat.blocks_hit -= before->second.blocks_hit;
      stat.blocks_read -= before->second.blocks_read;
    }
    if (stat.calls > 0) window.statements.push_back(std::move(stat));
  }
  auto mean = [](const QueryStat& s) { return s.total_time / s.calls; };
  std::sort(window.statements.begin(), window.statements.end(),
            [&](const QueryStat& a, const QueryStat& b) {
              switch (order) {
                case QueryStatsOrder::kCalls:
                  if (a.calls != b.calls) return a.calls > b.calls;
                  break;
                case QueryStatsOrder::kMeanTime:
                  if (mean(a) != mean(b)) return mean(a) > mean(b);
                  break;
                case QueryStatsOrder::kTotalTime:
                  break;
              }
              if (a.total_time != b.total_time)
                return a.total_time > b.total_time;
              return a.query_id < b.query_id;
            });
  if (window.statements.size() > static_cast<size_t>(limit)) {
    window.statements.resize(static_cast<size_t>(limit));
  }
  return window;
}

}  // namespace aves::store
