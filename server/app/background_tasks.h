// BackgroundTasks: avesd's upkeep on threads of their own: the periodic
// purge of expired cache entries (AVES_PURGE_INTERVAL_MS), the sweep of
// bulk loads abandoned by a crashed avesd (AVES_BULK_SWEEP_INTERVAL_MS) and
// the renewal of this avesd's bulk-load leases (every third of
// AVES_BULK_LEASE_MS), and the end of idle Insert streams (every quarter of
// AVES_BULK_IDLE_TIMEOUT_MS), and a warning every minute while avesd serves
// a non-loopback address without TLS or authentication (AVES_INSECURE=1),
// and a pg_stat_statements snapshot for GetQueryStats
// (AVES_QUERY_STATS_INTERVAL_MS), and ANALYZE of the tables that are due
// (AVES_ANALYZE_*: store/maintenance_store.h), checked every
// AVES_ANALYZE_CHECK_MS.
// Each logs what it did, or why it failed, and tries again next time.
#ifndef AVES_SERVER_APP_BACKGROUND_TASKS_H_
#define AVES_SERVER_APP_BACKGROUND_TASKS_H_

#include <functional>
#include <memory>

#include "server/app/periodic_task.h"
#include "server/config/config.h"
#include "server/store/maintenance_store.h"

namespace aves {
namespace store {
class ExerciseCacheStore;
class QueryStats;
}  // namespace store
namespace bulk {
class DatabaseLoadStore;
}  // namespace bulk
}  // namespace aves

namespace aves::app {

// The ANALYZE policy the settings describe.
store::AnalyzePolicy AnalyzePolicyOf(const config::Config& config);

class BackgroundTasks {
 public:
  // Starts the tasks whose interval is not zero.
  BackgroundTasks(const config::Config& config,
                  store::ExerciseCacheStore& cache,
                  bulk::DatabaseLoadStore& bulk_loads,
                  store::QueryStats& query_stats,
                  store::MaintenanceStore& maintenance,
                  std::function<void()> end_idle_streams);
  ~BackgroundTasks();  // Stop()

  // Stops every task (waiting for one that runs); idempotent.
  void Stop();

 private:
  std::unique_ptr<PeriodicTask> purge_;
  std::unique_ptr<PeriodicTask> bulk_sweep_;
  std::unique_ptr<PeriodicTask> lease_renewal_;
  std::unique_ptr<PeriodicTask> idle_streams_;
  std::unique_ptr<PeriodicTask> insecure_warning_;
  std::unique_ptr<PeriodicTask> query_stats_;
  std::unique_ptr<PeriodicTask> maintenance_;
};

}  // namespace aves::app

#endif  // AVES_SERVER_APP_BACKGROUND_TASKS_H_
