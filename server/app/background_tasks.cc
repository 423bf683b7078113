#include "server/app/background_tasks.h"

#include <algorithm>
#include <utility>

#include <absl/strings/str_join.h>
#include <absl/time/clock.h>

#include "server/bulk/load_store.h"
#include "server/common/call_context.h"
#include "server/observability/logging.h"
#include "server/store/exercise_cache_store.h"
#include "server/store/maintenance_store.h"
#include "server/store/query_stats.h"

namespace aves::app {
namespace {

void PurgeExpired(store::ExerciseCacheStore& cache) {
  common::CallContext call;
  call.holder = "periodic cache purge";
  absl::StatusOr<store::PurgeResult> purged = cache.PurgeExpired(call, 0);
  auto log = observability::Logger("purge");
  if (!purged.ok()) {
    log->warn("purging expired exercises failed: {}",
              purged.status().ToString());
  } else if (purged->deleted > 0) {
    log->info("purged {} expired exercises in {} batches", purged->deleted,
              purged->batches);
  }
}

void SweepAbandoned(bulk::DatabaseLoadStore& loads, absl::Duration idle) {
  common::CallContext call;
  call.holder = "periodic bulk-load sweep";
  absl::StatusOr<bulk::LoadLedger::SweepResult> swept =
      loads.SweepAbandoned(call, idle);
  auto log = observability::Logger("bulk");
  if (!swept.ok()) {
    log->warn("sweeping abandoned bulk loads failed: {}",
              swept.status().ToString());
  } else if (swept->jobs_abandoned + swept->stages_dropped +
                 swept->returned_batches_deleted >
             0) {
    log->info(
        "abandoned bulk loads: {} jobs failed, {} stages dropped; {} stored "
        "RETURNING batches of idle loads deleted",
        swept->jobs_abandoned, swept->stages_dropped,
        swept->returned_batches_deleted);
  }
}

void RenewLeases(bulk::DatabaseLoadStore& loads) {
  common::CallContext call;
  call.holder = "bulk-load lease renewal";
  call.deadline = absl::Now() + loads.lease() / 3;
  absl::Status renewed = loads.RenewLeases(call);
  if (!renewed.ok()) {
    // The next renewal tries again; a lease that lapses meanwhile lets
    // another stream take its load over, which fences this one off.
    observability::Logger("bulk")->warn("renewing bulk-load leases failed: {}",
                                        renewed.ToString());
  }
}

void SampleQueryStats(store::QueryStats& query_stats) {
  common::CallContext call;
  call.holder = "query statistics snapshot";
  call.deadline = absl::Now() + absl::Seconds(10);
  absl::Status sampled = query_stats.Sample(call);
  // Without pg_stat_statements there is nothing to sample: GetQueryStats
  // says how to enable it; one line at debug level, not a warning a minute.
  if (absl::IsFailedPrecondition(sampled)) {
    observability::Logger("query")->debug("no query statistics: {}",
                                          std::string(sampled.message()));
  } else if (!sampled.ok()) {
    observability::Logger("query")->warn("query statistics snapshot failed: {}",
                                         sampled.ToString());
  }
}

void RunDueMaintenance(store::MaintenanceStore& maintenance,
                       const store::AnalyzePolicy& policy) {
  common::CallContext call;
  call.holder = "scheduled ANALYZE";
  absl::StatusOr<store::MaintenanceRun> run = maintenance.RunDue(call, policy);
  auto log = observability::Logger("maintenance");
  if (!run.ok()) {
    log->warn("ANALYZE run failed: {}", run.status().ToString());
  } else if (!run->job_id.empty()) {
    log->info("ANALYZE run (job {}): {} tables analyzed, {} failed{}{}",
              run->job_id, run->done.size(), run->failed.size(),
              run->failed.empty() ? "" : ": ",
              absl::StrJoin(run->failed, "; "));
  }
}

}  // namespace

store::AnalyzePolicy AnalyzePolicyOf(const config::Config& config) {
  store::AnalyzePolicy policy;
  policy.schedule = config.analyze_schedule;
  policy.threshold_rows = config.analyze_threshold_rows;
  policy.threshold_fraction = config.analyze_threshold_percent / 100.0;
  policy.lock_timeout = config.analyze_lock_timeout;
  policy.statement_timeout = config.analyze_statement_timeout;
  return policy;
}

BackgroundTasks::BackgroundTasks(const config::Config& config,
                                 store::ExerciseCacheStore& cache,
                                 bulk::DatabaseLoadStore& bulk_loads,
                                 store::QueryStats& query_stats,
                                 store::MaintenanceStore& maintenance,
                                 std::function<void()> end_idle_streams) {
  if (config.analyze_check_interval > absl::ZeroDuration()) {
    maintenance_ = std::make_unique<PeriodicTask>(
        config.analyze_check_interval,
        [&maintenance, policy = AnalyzePolicyOf(config)] {
          RunDueMaintenance(maintenance, policy);
        });
    maintenance_->Start();
  }
  if (config.query_stats_interval > absl::ZeroDuration()) {
    query_stats_ = std::make_unique<PeriodicTask>(
        config.query_stats_interval,
        [&query_stats] { SampleQueryStats(query_stats); });
    query_stats_->Start();
  }
  if (config.purge_interval > absl::ZeroDuration()) {
    purge_ = std::make_unique<PeriodicTask>(config.purge_interval,
                                            [&cache] { PurgeExpired(cache); });
    purge_->Start();
  }
  if (config.bulk_sweep_interval > absl::ZeroDuration()) {
    bulk_sweep_ = std::make_unique<PeriodicTask>(
        config.bulk_sweep_interval,
        [&bulk_loads, idle = config.bulk_abandoned_after] {
          SweepAbandoned(bulk_loads, idle);
        });
    bulk_sweep_->Start();
  }
  lease_renewal_ = std::make_unique<PeriodicTask>(
      bulk_loads.lease() / 3, [&bulk_loads] { RenewLeases(bulk_loads); });
  lease_renewal_->Start();
  idle_streams_ = std::make_unique<PeriodicTask>(
      std::max(config.bulk_idle_timeout / 4, absl::Milliseconds(25)),
      std::move(end_idle_streams));
  idle_streams_->Start();
  if (config.serves_anyone_remotely()) {
    insecure_warning_ = std::make_unique<PeriodicTask>(
        absl::Minutes(1), [address = config.listen_address] {
          observability::Logger("server")->warn(
              "serving {} without TLS or authentication (AVES_INSECURE=1): "
              "anyone who reaches it may call every RPC",
              address);
        });
    insecure_warning_->Start();
  }
}

BackgroundTasks::~BackgroundTasks() { Stop(); }

void BackgroundTasks::Stop() {
  if (maintenance_) maintenance_->Stop();
  if (query_stats_) query_stats_->Stop();
  if (purge_) purge_->Stop();
  if (bulk_sweep_) bulk_sweep_->Stop();
  if (lease_renewal_) lease_renewal_->Stop();
  if (idle_streams_) idle_streams_->Stop();
  if (insecure_warning_) insecure_warning_->Stop();
}

}  // namespace aves::app
