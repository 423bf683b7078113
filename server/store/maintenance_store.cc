#include "server/store/maintenance_store.h"

#include <utility>

#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/common/json_writer.h"
#include "server/common/status_macros.h"
#include "server/db/errors.h"
#include "server/db/statement_name.h"
#include "server/db/timed_exec.h"
#include "server/db/transaction.h"
#include "server/store/job_store.h"
#include "server/store/timestamps.h"

namespace aves::store {
namespace {

// The advisory lock every replica's run takes (session level, held for the
// whole run on the run's one connection; it goes with the session if avesd
// dies). A constant of our own: "avesanlz" in ASCII.
constexpr int64_t kAnalyzeLockKey = 0x61766573'616e6c7a;

// Each service table with its statistics counters, and whether the
// schedule is due: no scheduled run yet, or the last began a period ago.
constexpr char kTableStatistics[] = AVES_SQL_NAME("maintenance_due_tables")
    "WITH last_run AS (SELECT max(created_at) AS at FROM batch_jobs "
    "WHERE job_type = 'maintenance_analyze' AND metadata->>'trigger' = "
    "'schedule') "
    "SELECT t.name, coalesce(s.n_mod_since_analyze, 0), "
    "coalesce(s.n_live_tup, 0), aves_epoch_us(s.last_analyze), "
    "aves_epoch_us(s.last_autoanalyze), "
    "$1::bigint > 0 AND ((SELECT at FROM last_run) IS NULL OR "
    "(SELECT at FROM last_run) < now() - make_interval(secs => $1::bigint / "
    "1000.0)) "
    "FROM aves_maintained_tables() AS t(name) "
    "LEFT JOIN pg_stat_user_tables s ON s.relname = t.name AND "
    "s.schemaname = current_schema() ORDER BY t.name";
// One row per index of the service's tables. Bloat: its size beyond the
// pages its rows need, each entry its key columns' average width (8 bytes
// where unknown) plus a 12-byte header and line pointer, pages of 8,152
// usable bytes filled to 90%, plus the metapage; unknown (0) for a table
// never analyzed. Covered: another valid index of the same method whose
// leading columns, operator classes, expressions and predicate are these.
constexpr char kIndexHealth[] = AVES_SQL_NAME("maintenance_index_health")
    "SELECT ic.relname, c.relname, pg_get_indexdef(i.indexrelid), "
    "i.indisvalid, coalesce(s.idx_scan, 0), pg_relation_size(i.indexrelid), "
    "i.indisunique OR i.indisprimary, "
    "CASE WHEN c.reltuples < 0 THEN 0 ELSE greatest(0, "
    "pg_relation_size(i.indexrelid) - current_setting('block_size')::bigint "
    "* (1 + ceil(c.reltuples * (12 + coalesce((SELECT sum(coalesce("
    "st.avg_width, 8)) FROM unnest(i.indkey::int2[]) AS k(attnum) LEFT JOIN "
    "pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum LEFT "
    "JOIN pg_stats st ON st.schemaname = n.nspname AND st.tablename = "
    "c.relname AND st.attname = a.attname), 8)) / (8152 * 0.9)))::bigint) "
    "END, "
    "ARRAY(SELECT oc.relname FROM pg_index o JOIN pg_class oc ON oc.oid = "
    "o.indexrelid WHERE o.indrelid = i.indrelid AND o.indexrelid <> "
    "i.indexrelid AND o.indisvalid AND oc.relam = ic.relam AND "
    "(o.indkey::text = i.indkey::text OR o.indkey::text LIKE i.indkey::text "
    "|| ' %') AND (o.indclass::text = i.indclass::text OR o.indclass::text "
    "LIKE i.indclass::text || ' %') AND pg_get_expr(o.indexprs, o.indrelid) "
    "IS NOT DISTINCT FROM pg_get_expr(i.indexprs, i.indrelid) AND "
    "pg_get_expr(o.indpred, o.indrelid) IS NOT DISTINCT FROM "
    "pg_get_expr(i.indpred, i.indrelid) ORDER BY oc.relname), "
    "(SELECT aves_epoch_us(stats_reset) FROM pg_stat_database WHERE datname "
    "= current_database()) "
    "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
    "JOIN pg_class c ON c.oid = i.indrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid "
    "WHERE n.nspname = current_schema() AND c.relname IN (SELECT * FROM "
    "aves_maintained_tables()) ORDER BY c.relname, ic.relname";
// When the last scheduled run of any replica began (what the schedule
// counts from).
constexpr char kLastScheduledRun[] = AVES_SQL_NAME("maintenance_last_run")
    "SELECT aves_epoch_us(max(created_at)) FROM batch_jobs WHERE job_type = "
    "'maintenance_analyze' AND metadata->>'trigger' = 'schedule'";
constexpr char kAnalyzeTable[] =
    AVES_SQL_NAME("maintenance_analyze_table") "SELECT aves_analyze_table($1)";

std::optional<absl::Time> TimeOf(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  const int64_t micros = field.as<int64_t>();
  if (micros == kUnrepresentableMicros) return std::nullopt;
  return absl::FromUnixMicros(micros);
}

// Every service table; `reason` is empty for one not due.
std::vector<DueTable> StatisticsOn(pqxx::connection_base& connection,
                                   db::QueryMetrics& metrics,
                                   const AnalyzePolicy& policy) {
  pqxx::read_transaction tx(connection);
  const pqxx::result rows = db::ExecParams(
      metrics, tx, kTableStatistics,
      static_cast<int64_t>(absl::ToInt64Milliseconds(policy.schedule)));
  std::vector<DueTable> tables;
  for (const pqxx::row& row : rows) {
    DueTable table;
    table.table = row[0].as<std::string>();
    table.modified_since_analyze = row[1].as<int64_t>();
    table.live_rows = row[2].as<int64_t>();
    table.last_analyze = TimeOf(row[3]);
    table.last_autoanalyze = TimeOf(row[4]);
    if (row[5].as<bool>()) {
      table.reason = "schedule";
    } else if (static_cast<double>(table.modified_since_analyze) >
               static_cast<double>(policy.threshold_rows) +
                   policy.threshold_fraction *
                       static_cast<double>(table.live_rows)) {
      table.reason = "threshold";
    }
    tables.push_back(std::move(table));
  }
  return tables;
}

std::vector<DueTable> OnlyDue(std::vector<DueTable> tables) {
  std::vector<DueTable> due;
  for (DueTable& table : tables) {
    if (!table.reason.empty()) due.push_back(std::move(table));
  }
  return due;
}

std::string Millis(absl::Duration duration) {
  return absl::StrCat(absl::ToInt64Milliseconds(duration), "ms");
}

// One ANALYZE in its own transaction, with its own timeouts.
absl::Status AnalyzeOne(pqxx::connection_base& connection,
                        db::QueryMetrics& metrics, const std::string& table,
                        const AnalyzePolicy& policy) {
  try {
    pqxx::work tx(connection);
    // Whole milliseconds of our own settings: nothing from a request.
    tx.exec(absl::StrCat("SET LOCAL lock_timeout = '",
                         Millis(policy.lock_timeout), "'"));
    tx.exec(absl::StrCat("SET LOCAL statement_timeout = '",
                         Millis(policy.statement_timeout), "'"));
    db::ExecParams(metrics, tx, kAnalyzeTable, table);
    tx.commit();
    return absl::OkStatus();
  } catch (...) {
    return db::StatusFromCurrentException(absl::StrCat("ANALYZE ", table));
  }
}

// One table of an ANALYZE run.
auto Analyzer(db::QueryMetrics& metrics, const AnalyzePolicy& policy) {
  return [&metrics, &policy](pqxx::connection_base& connection,
                             const std::string& table) {
    return AnalyzeOne(connection, metrics, table, policy);
  };
}

// Moves the run's job in a transaction of its own.
absl::Status Progress(pqxx::connection_base& connection,
                      db::QueryMetrics& metrics, const JobProgress& progress,
                      const std::vector<NewJobError>& errors = {}) {
  try {
    pqxx::work work(connection);
    db::Transaction tx(work, &metrics);
    RETURN_IF_ERROR(JobStore::UpdateProgressIn(tx, progress).status());
    if (!errors.empty()) {
      RETURN_IF_ERROR(JobStore::AppendErrorsIn(tx, progress.id, errors));
    }
    work.commit();
    return absl::OkStatus();
  } catch (...) {
    return db::StatusFromCurrentException("recording maintenance progress");
  }
}

}  // namespace

std::vector<db::PreparedStatement> MaintenanceStore::NamedStatements() {
  std::vector<db::PreparedStatement> named;
  for (const char* text :
       {kTableStatistics, kAnalyzeTable, kIndexHealth, kLastScheduledRun}) {
    named.push_back({std::string(db::StatementNameOf(text)), text});
  }
  return named;
}

absl::StatusOr<std::vector<DueTable>> MaintenanceStore::Statistics(
    const common::CallContext& context, const AnalyzePolicy& policy) {
  std::vector<DueTable> tables;
  RETURN_IF_ERROR(database_.Run(
      context, db::Access::kRead, [&](pqxx::connection_base& connection) {
        try {
          tables = StatisticsOn(connection, database_.query_metrics(), policy);
          return absl::OkStatus();
        } catch (...) {
          return db::StatusFromCurrentException("the tables' statistics");
        }
      }));
  return tables;
}

absl::StatusOr<IndexHealthReport> MaintenanceStore::ReadIndexHealth(
    const common::CallContext& context, const AnalyzePolicy& policy) {
  IndexHealthReport report;
  RETURN_IF_ERROR(database_.Run(
      context, db::Access::kRead, [&](pqxx::connection_base& connection) {
        try {
          report = IndexHealthReport();
          pqxx::read_transaction tx(connection);
          const pqxx::result rows =
              db::ExecParams(database_.query_metrics(), tx, kIndexHealth);
          for (const pqxx::row& row : rows) {
            store::IndexHealth index;
            index.index = row[0].as<std::string>();
            index.table = row[1].as<std::string>();
            index.definition = row[2].as<std::string>();
            index.valid = row[3].as<bool>();
            index.scans = row[4].as<int64_t>();
            index.size_bytes = row[5].as<int64_t>();
            index.enforces_constraint = row[6].as<bool>();
            index.estimated_bloat_bytes = row[7].as<int64_t>();
            auto covered = row[8].as_array();
            for (auto item = covered.get_next();
                 item.first != pqxx::array_parser::juncture::done;
                 item = covered.get_next()) {
              if (item.first == pqxx::array_parser::juncture::string_value) {
                index.covered_by.push_back(item.second);
              }
            }
            report.stats_since = TimeOf(row[9]);
            report.indexes.push_back(std::move(index));
          }
          report.last_scheduled_analyze = TimeOf(
              db::ExecParams(database_.query_metrics(), tx, kLastScheduledRun)
                  .at(0)
                  .at(0));
          tx.commit();
          report.tables =
              StatisticsOn(connection, database_.query_metrics(), policy);
          return absl::OkStatus();
        } catch (...) {
          return db::StatusFromCurrentException("index health");
        }
      }));
  return report;
}

absl::StatusOr<std::vector<DueTable>> MaintenanceStore::DueTables(
    const common::CallContext& context, const AnalyzePolicy& policy) {
  ASSIGN_OR_RETURN(std::vector<DueTable> tables, Statistics(context, policy));
  return OnlyDue(std::move(tables));
}

absl::StatusOr<MaintenanceRun> MaintenanceStore::RunDue(
    const common::CallContext& context, const AnalyzePolicy& policy) {
  return Run(
      context, kAnalyzeJobType,
      [&](pqxx::connection_base& connection) -> absl::StatusOr<Choice> {
        // Chosen under the lock: a replica that ran just before this
        // one took it has recorded its job, so the schedule is not
        // due again.
        const std::vector<DueTable> due = OnlyDue(
            StatisticsOn(connection, database_.query_metrics(), policy));
        Choice choice;
        for (const DueTable& table : due) {
          choice.first.push_back(table.table);
        }
        if (!due.empty()) choice.second = due.front().reason;
        return choice;
      },
      Analyzer(database_.query_metrics(), policy));
}

absl::StatusOr<MaintenanceRun> MaintenanceStore::RunNow(
    const common::CallContext& context, const AnalyzePolicy& policy,
    const std::vector<std::string>& tables) {
  return Run(
      context, kAnalyzeJobType,
      [&](pqxx::connection_base&) -> absl::StatusOr<Choice> {
        return Choice{tables, "manual"};
      },
      Analyzer(database_.query_metrics(), policy));
}

absl::StatusOr<MaintenanceRun> MaintenanceStore::Reindex(
    const common::CallContext& context, const AnalyzePolicy& policy,
    const std::string& owner_url, const std::string& index) {
  return Run(
      context, kReindexJobType,
      [&](pqxx::connection_base&) -> absl::StatusOr<Choice> {
        return Choice{{index}, "manual"};
      },
      [&](pqxx::connection_base&, const std::string& name) -> absl::Status {
        try {
          pqxx::connection owner(owner_url);
          pqxx::nontransaction tx(owner);
          // Whole milliseconds of our own settings: nothing from a request.
          tx.exec(absl::StrCat("SET lock_timeout = '",
                               Millis(policy.lock_timeout), "'"));
          tx.exec(absl::StrCat("SET statement_timeout = '",
                               Millis(policy.statement_timeout), "'"));
          // The name is the catalog's (the caller matched it), quoted.
          tx.exec(absl::StrCat(
              AVES_SQL_NAME(
                  "maintenance_reindex") "REINDEX INDEX CONCURRENTLY ",
              tx.quote_name(name)));
          return absl::OkStatus();
        } catch (...) {
          return db::StatusFromCurrentException(absl::StrCat("REINDEX ", name));
        }
      });
}

absl::StatusOr<MaintenanceRun> MaintenanceStore::Run(
    const common::CallContext& context, const char* job_type,
    absl::FunctionRef<absl::StatusOr<Choice>(pqxx::connection_base&)> choose,
    absl::FunctionRef<absl::Status(pqxx::connection_base&, const std::string&)>
        work_on) {
  MaintenanceRun run;
  db::QueryMetrics& metrics = database_.query_metrics();
  RETURN_IF_ERROR(database_.Run(
      context, db::Access::kWrite,
      [&](pqxx::connection_base& connection) -> absl::Status {
        try {
          {
            pqxx::nontransaction tx(connection);
            if (tx.exec1(AVES_SQL_NAME(
                    "maintenance_is_standby") "SELECT pg_is_in_recovery()")[0]
                    .as<bool>()) {
              run.skipped = "a standby: maintenance runs on the primary";
              return absl::OkStatus();
            }
            if (!tx.exec_params1(
                       AVES_SQL_NAME(
                           "maintenance_lock") "SELECT "
                                               "pg_try_advisory_lock($1)",
                       kAnalyzeLockKey)[0]
                     .as<bool>()) {
              run.skipped = "another avesd is running maintenance";
              return absl::OkStatus();
            }
          }
          auto body = [&]() -> absl::Status {
            ASSIGN_OR_RETURN(Choice choice, choose(connection));
            const std::vector<std::string>& items = choice.first;
            if (items.empty()) {
              run.skipped = "nothing due";
              return absl::OkStatus();
            }
            NewJob job;
            job.job_type = job_type;
            job.total_items = static_cast<int64_t>(items.size());
            job.metadata =
                common::JsonObject()
                    .Add("trigger", choice.second)
                    .Add(absl::string_view(job_type) == kReindexJobType
                             ? "indexes"
                             : "tables",
                         items)
                    .Text();
            job.created_by = "avesd maintenance";
            {
              pqxx::work work(connection);
              db::Transaction tx(work, &metrics);
              ASSIGN_OR_RETURN(Job created, JobStore::CreateIn(tx, job));
              run.job_id = created.id;
              JobProgress start;
              start.id = run.job_id;
              start.status = JobStatus::kProcessing;
              RETURN_IF_ERROR(JobStore::UpdateProgressIn(tx, start).status());
              work.commit();
            }
            for (size_t i = 0; i < items.size(); ++i) {
              const absl::Status outcome = work_on(connection, items[i]);
              JobProgress item;
              item.id = run.job_id;
              std::vector<NewJobError> errors;
              if (outcome.ok()) {
                item.processed_items_delta = 1;
                run.done.push_back(items[i]);
              } else {
                item.failed_items_delta = 1;
                errors.push_back({static_cast<int64_t>(i), items[i],
                                  std::string(outcome.message())});
                run.failed.push_back(
                    absl::StrCat(items[i], ": ", outcome.message()));
              }
              RETURN_IF_ERROR(Progress(connection, metrics, item, errors));
            }
            JobProgress done;
            done.id = run.job_id;
            done.status =
                run.done.empty() ? JobStatus::kFailed : JobStatus::kCompleted;
            return Progress(connection, metrics, done);
          };
          // Whatever the run met, the lock is released before the
          // connection goes back to the pool (a session lock would outlive
          // the run there).
          absl::Status ran;
          try {
            ran = body();
          } catch (...) {
            ran = db::StatusFromCurrentException("maintenance run");
          }
          pqxx::nontransaction tx(connection);
          tx.exec_params(
              AVES_SQL_NAME(
                  "maintenance_unlock") "SELECT pg_advisory_unlock($1)",
              kAnalyzeLockKey);
          return ran;
        } catch (...) {
          // The lock goes with the connection, which the pool drops when
          // it broke.
          return db::StatusFromCurrentException("maintenance run");
        }
      }));
  return run;
}

}  // namespace aves::store
