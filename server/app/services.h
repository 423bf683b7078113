// Services: what avesd serves with, built from its settings in dependency
// order — the database (pool), the stores and the bulk path, the job change
// feed, the page-token codec, and the gRPC services on top. It outlives the
// gRPC server (calls reach the services until the server has shut down);
// the executors are the caller's, so the caller can drain them while the
// server still stands (server.cc). Bulk loads run on their own executor, as
// many threads as connections they may hold: whatever they do, the unary
// calls keep the rest of the pool and of the main executor.
#ifndef AVES_SERVER_APP_SERVICES_H_
#define AVES_SERVER_APP_SERVICES_H_

#include <memory>
#include <string>
#include <vector>

#include "server/common/executor.h"
#include "server/config/config.h"
#include "server/db/migration_file.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace aves {
namespace db {
class Database;
}  // namespace db
namespace store {
class ExerciseCacheStore;
class JobFeed;
class QueryStats;
class MaintenanceStore;
class LookupCache;
class CacheInvalidationFeed;
}  // namespace store
namespace bulk {
class BulkMetrics;
class DatabaseLoadStore;
}  // namespace bulk
namespace auth {
class Authenticator;
}  // namespace auth
namespace handlers {
class CallAuthorizer;
class RpcHistory;
}  // namespace handlers
}  // namespace aves

namespace aves::app {

class Services {
 public:
  // Starts the pool's and the feed's threads (connections open in the
  // background) and returns at once. `authenticator` gates every call
  // (null: authentication off); `rpc_history` (GetRpcStats) must outlive
  // the services.
  static std::unique_ptr<Services> Build(
      const config::Config& config, std::vector<db::MigrationFile> migrations,
      common::Executor& executor, common::Executor& bulk_executor,
      std::unique_ptr<auth::Authenticator> authenticator,
      const handlers::RpcHistory& rpc_history);
  ~Services();

  db::Database& database();
  store::ExerciseCacheStore& exercise_cache();
  bulk::DatabaseLoadStore& bulk_loads();
  store::JobFeed& job_feed();
  const store::LookupCache& lookup_cache() const;
  store::CacheInvalidationFeed& cache_feed();
  store::QueryStats& query_stats();
  store::MaintenanceStore& maintenance();
  const bulk::BulkMetrics& bulk_metrics() const;
  // Ends Insert streams idle past AVES_BULK_IDLE_TIMEOUT_MS.
  void EndIdleStreams();

  // The gate of every call (handlers/authorization.h), for the reflection
  // gate too.
  const handlers::CallAuthorizer& authorizer() const;
  // Who verifies callers (null: authentication off), for the HTTP listener.
  const auth::Authenticator* authenticator() const;
  // WatchJobs streams open now, and ended as too slow (for /metrics).
  int open_watchers() const;
  uint64_t watchers_dropped_slow() const;
  // The services to register with the gRPC server.
  std::vector<grpc::Service*> grpc_services();
  // Their full names ("aves.data.v1.ExerciseCacheService", ...), each
  // reported by grpc.health.v1 beside the overall status.
  static std::vector<std::string> grpc_service_names();

 private:
  struct Parts;
  explicit Services(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace aves::app

#endif  // AVES_SERVER_APP_SERVICES_H_
