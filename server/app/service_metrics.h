// The collectors of avesd's own figures for /metrics: the pool (the
// HikariCP / OpenTelemetry db.client.connection set, prefixed aves_db_pool_)
// and health. Read at scrape time from the components' statistics.
#ifndef AVES_SERVER_APP_SERVICE_METRICS_H_
#define AVES_SERVER_APP_SERVICE_METRICS_H_

#include <functional>

#include "server/app/services.h"
#include "server/db/pool.h"
#include "server/observability/metrics.h"

namespace aves::app {

// `pool` must outlive the registry's last scrape.
void AddPoolMetrics(observability::MetricsRegistry& registry,
                    const db::Pool& pool);

// WatchJobs streams: aves_watch_streams_open, aves_watch_streams_dropped_
// slow_total. `services` must outlive the registry's last scrape.
// The lookup cache (aves_cache_*) and its invalidation feed.
void AddCacheMetrics(observability::MetricsRegistry& registry,
                     Services& services);

void AddWatchMetrics(observability::MetricsRegistry& registry,
                     const Services& services);

// aves_serving: 1 while gRPC health says SERVING; aves_schema_current: 1
// while every built-in migration is applied unchanged.
void AddHealthMetrics(observability::MetricsRegistry& registry,
                      std::function<bool()> serving,
                      std::function<bool()> schema_current);

}  // namespace aves::app

#endif  // AVES_SERVER_APP_SERVICE_METRICS_H_
