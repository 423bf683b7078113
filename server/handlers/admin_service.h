// AdminService: operator calls about the service itself (see admin.proto),
// in the same style as every service: GetMigrationStatus and VerifyIndexes
// query the database on the executor; GetPoolStats reads the pool's figures
// at once (offload.h), so it answers even when the executor is saturated,
// as do ListSlowQueries and GetCacheStats (avesd's memory); GetQueryStats reads
// pg_stat_statements on the executor; RunAnalyze runs a maintenance ANALYZE
// (store/maintenance_store.h) on the executor and answers when it ends.
#ifndef AVES_SERVER_HANDLERS_ADMIN_SERVICE_H_
#define AVES_SERVER_HANDLERS_ADMIN_SERVICE_H_

#include <vector>

#include "aves/data/v1/admin.grpc.pb.h"
#include "server/db/migration_file.h"
#include "server/handlers/offload.h"
#include "server/handlers/rpc_history.h"
#include "server/store/maintenance_store.h"

namespace aves::db {
class Database;
}  // namespace aves::db
namespace aves::store {
class QueryStats;
class LookupCache;
class CacheInvalidationFeed;
}  // namespace aves::store

namespace aves::handlers {

class AdminServiceImpl final
    : public aves::data::v1::AdminService::CallbackService {
 public:
  AdminServiceImpl(db::Database& database, store::QueryStats& query_stats,
                   const store::LookupCache& cache,
                   const store::CacheInvalidationFeed& cache_feed,
                   store::MaintenanceStore& maintenance,
                   store::AnalyzePolicy analyze_policy,
                   const RpcHistory& rpc_history, std::string owner_url,
                   HandlerContext handler,
                   std::vector<db::MigrationFile> migrations);

  grpc::ServerUnaryReactor* GetMigrationStatus(
      grpc::CallbackServerContext* context,
      const aves::data::v1::GetMigrationStatusRequest* request,
      aves::data::v1::GetMigrationStatusResponse* response) override;
  grpc::ServerUnaryReactor* VerifyIndexes(
      grpc::CallbackServerContext* context,
      const aves::data::v1::VerifyIndexesRequest* request,
      aves::data::v1::VerifyIndexesResponse* response) override;
  grpc::ServerUnaryReactor* GetPoolStats(
      grpc::CallbackServerContext* context,
      const aves::data::v1::GetPoolStatsRequest* request,
      aves::data::v1::GetPoolStatsResponse* response) override;
  grpc::ServerUnaryReactor* ListSlowQueries(
      grpc::CallbackServerContext* context,
      const aves::data::v1::ListSlowQueriesRequest* request,
      aves::data::v1::ListSlowQueriesResponse* response) override;
  grpc::ServerUnaryReactor* GetQueryStats(
      grpc::CallbackServerContext* context,
      const aves::data::v1::GetQueryStatsRequest* request,
      aves::data::v1::GetQueryStatsResponse* response) override;
  grpc::ServerUnaryReactor* GetCacheStats(
      grpc::CallbackServerContext* context,
      const aves::data::v1::GetCacheStatsRequest* request,
      aves::data::v1::GetCacheStatsResponse* response) override;
  grpc::ServerUnaryReactor* RunAnalyze(
      grpc::CallbackServerContext* context,
      const aves::data::v1::RunAnalyzeRequest* request,
      aves::data::v1::RunAnalyzeResponse* response) override;
  grpc::ServerUnaryReactor* GetIndexHealth(
      grpc::CallbackServerContext* context,
      const aves::data::v1::GetIndexHealthRequest* request,
      aves::data::v1::GetIndexHealthResponse* response) override;
  grpc::ServerUnaryReactor* ReindexIndex(
      grpc::CallbackServerContext* context,
      const aves::data::v1::ReindexIndexRequest* request,
      aves::data::v1::ReindexIndexResponse* response) override;
  grpc::ServerUnaryReactor* GetRpcStats(
      grpc::CallbackServerContext* context,
      const aves::data::v1::GetRpcStatsRequest* request,
      aves::data::v1::GetRpcStatsResponse* response) override;

 private:
  db::Database& database_;
  store::QueryStats& query_stats_;
  const store::LookupCache& cache_;
  const store::CacheInvalidationFeed& cache_feed_;
  store::MaintenanceStore& maintenance_;
  const store::AnalyzePolicy analyze_policy_;
  const RpcHistory& rpc_history_;
  const std::string owner_url_;  // REINDEX needs the schema owner
  const absl::Time serving_since_;
  const HandlerContext handler_;
  const std::vector<db::MigrationFile> migrations_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_ADMIN_SERVICE_H_
