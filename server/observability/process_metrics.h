// The process_* families every Prometheus client library exports (CPU,
// memory, file descriptors, start time; read from /proc at scrape time) and
// aves_build_info.
#ifndef AVES_SERVER_OBSERVABILITY_PROCESS_METRICS_H_
#define AVES_SERVER_OBSERVABILITY_PROCESS_METRICS_H_

#include <string>

#include "server/observability/metrics.h"

namespace aves::observability {

void AddProcessMetrics(MetricsRegistry& registry);

struct BuildInfo {
  std::string version;
  std::string git_commit;
  std::string grpc_version;
};
// aves_build_info{version,git_commit,grpc_version} 1.
void AddBuildInfo(MetricsRegistry& registry, BuildInfo info);

}  // namespace aves::observability

#endif  // AVES_SERVER_OBSERVABILITY_PROCESS_METRICS_H_
