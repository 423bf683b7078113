#include "server/app/service_metrics.h"

#include <utility>

#include "server/store/cache_invalidation_feed.h"
#include "server/store/lookup_cache.h"

namespace aves::app {

using observability::Exposition;

void AddPoolMetrics(observability::MetricsRegistry& registry,
                    const db::Pool& pool) {
  registry.Add([&pool](Exposition& out) {
    // One copy of the counters under the pool's lock, then formatting
    // outside it.
    const db::PoolStats stats = pool.Stats();
    out.Family("aves_db_pool_connections", Exposition::Type::kGauge,
               "Connections of the pool by state.");
    out.Sample("aves_db_pool_connections", {{"state", "idle"}}, stats.idle);
    out.Sample("aves_db_pool_connections", {{"state", "used"}}, stats.in_use);
    out.Sample("aves_db_pool_connections", {{"state", "opening"}},
               stats.opening);
    out.Family("aves_db_pool_connections_max", Exposition::Type::kGauge,
               "Most connections the pool opens (DB_POOL_MAX).");
    out.Sample("aves_db_pool_connections_max", {}, stats.max);
    out.Family("aves_db_pool_connections_min", Exposition::Type::kGauge,
               "Connections the pool keeps open (DB_POOL_MIN).");
    out.Sample("aves_db_pool_connections_min", {}, stats.min);
    out.Family("aves_db_pool_pending_requests", Exposition::Type::kGauge,
               "Callers waiting for a connection.");
    out.Sample("aves_db_pool_pending_requests", {}, stats.waiting);
    out.Family("aves_db_pool_oldest_pending_seconds", Exposition::Type::kGauge,
               "How long the longest-waiting caller has waited.");
    out.Sample("aves_db_pool_oldest_pending_seconds", {},
               absl::ToDoubleSeconds(stats.oldest_waiter_age));
    out.Family("aves_db_pool_acquire_wait_seconds",
               Exposition::Type::kHistogram,
               "How long callers waited for a connection.");
    out.Histogram("aves_db_pool_acquire_wait_seconds", {},
                  stats.acquire_wait_seconds);
    out.Family("aves_db_pool_use_time_seconds", Exposition::Type::kHistogram,
               "How long the work on a lent connection took.");
    out.Histogram("aves_db_pool_use_time_seconds", {}, stats.use_time_seconds);
    out.Family("aves_db_pool_acquired_total", Exposition::Type::kCounter,
               "Connections lent to callers.");
    out.Sample("aves_db_pool_acquired_total", {}, stats.acquired);
    out.Family("aves_db_pool_timeouts_total", Exposition::Type::kCounter,
               "Callers that gave up waiting for a connection "
               "(DB_ACQUIRE_TIMEOUT).");
    out.Sample("aves_db_pool_timeouts_total", {}, stats.acquire_timeouts);
    out.Family("aves_db_pool_rejections_total", Exposition::Type::kCounter,
               "Callers refused at once, by reason.");
    out.Sample("aves_db_pool_rejections_total", {{"reason", "full"}},
               stats.rejected_full);
    out.Sample("aves_db_pool_rejections_total", {{"reason", "unavailable"}},
               stats.rejected_unavailable);
    out.Family("aves_db_pool_connections_opened_total",
               Exposition::Type::kCounter, "Connections opened.");
    out.Sample("aves_db_pool_connections_opened_total", {}, stats.opened);
    out.Family("aves_db_pool_connect_failures_total",
               Exposition::Type::kCounter, "Connection attempts that failed.");
    out.Sample("aves_db_pool_connect_failures_total", {},
               stats.connect_failures);
    out.Family("aves_db_pool_connections_closed_total",
               Exposition::Type::kCounter,
               "Connections closed, by reason (a fixed set).");
    for (const auto& [reason, count] : stats.discarded) {
      out.Sample("aves_db_pool_connections_closed_total", {{"reason", reason}},
                 count);
    }
    out.Family("aves_db_pool_query_cancels_total", Exposition::Type::kCounter,
               "Queries the pool's watchdog cancelled at their deadline.");
    out.Sample("aves_db_pool_query_cancels_total", {}, stats.cancels);
    out.Family("aves_db_pool_errors_total", Exposition::Type::kCounter,
               "Work on lent connections that failed, by status code.");
    for (const auto& [code, count] : stats.errors) {
      out.Sample("aves_db_pool_errors_total", {{"code", code}}, count);
    }
    out.Family("aves_db_pool_database_reachable", Exposition::Type::kGauge,
               "1 while the pool reaches the database.");
    out.Sample("aves_db_pool_database_reachable", {},
               stats.database_reachable ? 1 : 0);
  });
}

void AddWatchMetrics(observability::MetricsRegistry& registry,
                     const Services& services) {
  registry.Add([&services](Exposition& out) {
    out.Family("aves_watch_streams_open", Exposition::Type::kGauge,
               "WatchJobs streams open now.");
    out.Sample("aves_watch_streams_open", {}, services.open_watchers());
    out.Family("aves_watch_streams_dropped_slow_total",
               Exposition::Type::kCounter,
               "WatchJobs streams ended for falling behind the job feed.");
    out.Sample("aves_watch_streams_dropped_slow_total", {},
               services.watchers_dropped_slow());
  });
}

void AddCacheMetrics(observability::MetricsRegistry& registry,
                     Services& services) {
  registry.Add([&cache = services.lookup_cache(),
                &feed = services.cache_feed()](Exposition& out) {
    const store::LookupCacheStats stats = cache.stats();
    out.Family("aves_cache_lookups_total", Exposition::Type::kCounter,
               "Lookups that asked the in-process cache, by outcome (hit, "
               "negative_hit: a remembered miss, miss: went to PostgreSQL).");
    out.Sample("aves_cache_lookups_total", {{"outcome", "hit"}}, stats.hits);
    out.Sample("aves_cache_lookups_total", {{"outcome", "negative_hit"}},
               stats.negative_hits);
    out.Sample("aves_cache_lookups_total", {{"outcome", "miss"}}, stats.misses);
    out.Family("aves_cache_removals_total", Exposition::Type::kCounter,
               "Entries dropped from the cache, by reason (eviction by the "
               "bounds, expiry, invalidation by a write).");
    out.Sample("aves_cache_removals_total", {{"reason", "eviction"}},
               stats.evictions);
    out.Sample("aves_cache_removals_total", {{"reason", "expiry"}},
               stats.expirations);
    out.Sample("aves_cache_removals_total", {{"reason", "invalidation"}},
               stats.invalidations);
    out.Family("aves_cache_flushes_total", Exposition::Type::kCounter,
               "Times the whole cache was emptied (a bulk change, a lost "
               "invalidation feed).");
    out.Sample("aves_cache_flushes_total", {}, stats.flushes);
    out.Family("aves_cache_stale_fills_total", Exposition::Type::kCounter,
               "Answers not kept because a write to their learner came in "
               "while they were read.");
    out.Sample("aves_cache_stale_fills_total", {}, stats.stale_fills);
    out.Family("aves_cache_entries", Exposition::Type::kGauge,
               "Entries in the cache (AVES_CACHE_MAX_ENTRIES bounds them).");
    out.Sample("aves_cache_entries", {}, stats.entries);
    out.Family("aves_cache_bytes", Exposition::Type::kGauge,
               "Bytes the cache's entries are charged (AVES_CACHE_MAX_BYTES "
               "bounds them).");
    out.Sample("aves_cache_bytes", {}, stats.bytes);
    out.Family("aves_cache_bypassed", Exposition::Type::kGauge,
               "1 while the cache is on but bypassed: its invalidation feed "
               "is not listening.");
    out.Sample("aves_cache_bypassed", {},
               stats.enabled && stats.bypassed ? 1 : 0);
    out.Family("aves_cache_invalidation_messages_total",
               Exposition::Type::kCounter,
               "Notifications received on channel aves_exercise_cache.");
    out.Sample("aves_cache_invalidation_messages_total", {}, feed.messages());
  });
}

void AddHealthMetrics(observability::MetricsRegistry& registry,
                      std::function<bool()> serving,
                      std::function<bool()> schema_current) {
  registry.Add([serving = std::move(serving),
                schema_current = std::move(schema_current)](Exposition& out) {
    out.Family("aves_serving", Exposition::Type::kGauge,
               "1 while avesd reports SERVING (the database reachable and "
               "every migration applied unchanged).");
    out.Sample("aves_serving", {}, serving() ? 1 : 0);
    out.Family("aves_schema_current", Exposition::Type::kGauge,
               "1 while every built-in migration is applied unchanged (the "
               "last check's answer).");
    out.Sample("aves_schema_current", {}, schema_current() ? 1 : 0);
  });
}

}  // namespace aves::app
