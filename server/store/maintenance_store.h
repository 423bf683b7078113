// MaintenanceStore: the database looking after itself (issue 19). ANALYZE of
// the service's tables (migration 021's aves_maintained_tables), on a
// schedule and whenever a table's rows modified since its last ANALYZE pass
// a threshold stricter than autovacuum's. A run is one batch_jobs row
// (job_type maintenance_analyze, one item per table) that WatchJobs and the
// dashboard see like any job; only avesd moves it. One replica runs at a
// time (a session advisory lock held for the whole run), never on a
// standby; each table gets its own lock_timeout and statement_timeout, so a
// table another session holds locked costs that table's item, not the run.
#ifndef AVES_SERVER_STORE_MAINTENANCE_STORE_H_
#define AVES_SERVER_STORE_MAINTENANCE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <absl/functional/function_ref.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "server/common/call_context.h"
#include "server/db/database.h"
#include "server/db/pqxx_fwd.h"
#include "server/db/prepared_statement.h"

namespace aves::store {

inline constexpr char kAnalyzeJobType[] = "maintenance_analyze";

struct AnalyzePolicy {
  // Every table, once per this long across replicas; zero: never on a
  // schedule (the threshold still applies).
  absl::Duration schedule = absl::Hours(24 * 7);
  // A table is due when its rows modified since its last ANALYZE pass
  // threshold_rows + threshold_fraction x its live rows (autovacuum's
  // defaults: 50 + 10%).
  int64_t threshold_rows = 50;
  double threshold_fraction = 0.05;
  absl::Duration lock_timeout = absl::Seconds(5);
  absl::Duration statement_timeout = absl::Minutes(10);
};

struct DueTable {
  std::string table;
  // "schedule" or "threshold"; empty (in Statistics only) when not due.
  std::string reason;
  int64_t modified_since_analyze = 0;
  int64_t live_rows = 0;
  std::optional<absl::Time> last_analyze;      // by anyone
  std::optional<absl::Time> last_autoanalyze;  // by autovacuum
};

inline constexpr char kReindexJobType[] = "maintenance_reindex";

// A maintenance job's outcome: each item (a table analyzed, an index
// rebuilt) done or failed.
struct MaintenanceRun {
  // Empty when nothing ran: then `skipped` says why.
  std::string job_id;
  std::string skipped;
  std::vector<std::string> done;
  std::vector<std::string> failed;  // "item: reason"
};

struct IndexHealth {
  std::string index;
  std::string table;
  std::string definition;
  bool valid = true;
  int64_t scans = 0;
  int64_t size_bytes = 0;
  bool enforces_constraint = false;
  int64_t estimated_bloat_bytes = 0;
  std::vector<std::string> covered_by;
};

struct IndexHealthReport {
  std::vector<IndexHealth> indexes;       // by table, then name
  std::optional<absl::Time> stats_since;  // pg_stat_database.stats_reset
  // The service's tables (as Statistics reads them), and when the last
  // scheduled ANALYZE of any replica began.
  std::vector<DueTable> tables;
  std::optional<absl::Time> last_scheduled_analyze;
};

class MaintenanceStore {
  using Choice = std::pair<std::vector<std::string>, std::string>;

 public:
  explicit MaintenanceStore(db::Database& database) : database_(database) {}

  // The named statements it sends as text (for the query metrics).
  static std::vector<db::PreparedStatement> NamedStatements();

  // What a scheduled check would analyze now, and why.
  absl::StatusOr<std::vector<DueTable>> DueTables(
      const common::CallContext& context, const AnalyzePolicy& policy);
  // Every service table, due or not (the dry run of RunNow).
  absl::StatusOr<std::vector<DueTable>> Statistics(
      const common::CallContext& context, const AnalyzePolicy& policy);

  // Every index of the service's tables: valid, scans, size, an estimate of
  // its bloat, and the indexes that make it redundant; and the tables'
  // statistics under `policy`.
  absl::StatusOr<IndexHealthReport> ReadIndexHealth(
      const common::CallContext& context, const AnalyzePolicy& policy);

  // Analyzes what is due, as one job. Skips (OK, nothing written) when
  // nothing is due, another replica is running, or this is a standby.
  absl::StatusOr<MaintenanceRun> RunDue(const common::CallContext& context,
                                        const AnalyzePolicy& policy);
  // Analyzes `tables` (service tables; the caller checked) now, as one job
  // of trigger "manual". Skips like RunDue when another replica runs or on
  // a standby.
  absl::StatusOr<MaintenanceRun> RunNow(const common::CallContext& context,
                                        const AnalyzePolicy& policy,
                                        const std::vector<std::string>& tables);

  // Rebuilds `index` (one of ReadIndexHealth's; the caller checked) with
  // REINDEX INDEX CONCURRENTLY, as one job of type maintenance_reindex:
  // writes go on meanwhile. REINDEX needs the index's owner and cannot run
  // in a transaction (so not in a SECURITY DEFINER function): it runs on a
  // connection of its own to `owner_url` (the schema owner's, AVES_MIGRATE_
  // DATABASE_URL or DATABASE_URL), with the policy's lock and statement
  // timeouts. Skips like RunNow. A REINDEX that fails part-way leaves an
  // invalid "<index>_ccnew" index, which GetIndexHealth then reports.
  absl::StatusOr<MaintenanceRun> Reindex(const common::CallContext& context,
                                         const AnalyzePolicy& policy,
                                         const std::string& owner_url,
                                         const std::string& index);

 private:
  // A run under the lock, as one job of `job_type`: `choose` picks the
  // items and the trigger (no items: nothing due), `work_on` does one.
  absl::StatusOr<MaintenanceRun> Run(
      const common::CallContext& context, const char* job_type,
      absl::FunctionRef<absl::StatusOr<Choice>(pqxx::connection_base&)> choose,
      absl::FunctionRef<absl::Status(pqxx::connection_base&,
                                     const std::string&)>
          work_on);

  db::Database& database_;
};

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_MAINTENANCE_STORE_H_
