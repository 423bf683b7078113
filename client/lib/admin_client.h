// AdminClient: typed calls of aves.data.v1.AdminService, each with a
// deadline; the reads are retried on UNAVAILABLE within it, RunAnalyze
// (a write) never.
#ifndef AVES_CLIENT_LIB_ADMIN_CLIENT_H_
#define AVES_CLIENT_LIB_ADMIN_CLIENT_H_

#include <memory>
#include <string>

#include <absl/status/statusor.h>
#include <grpcpp/channel.h>

#include "aves/data/v1/admin.grpc.pb.h"
#include "client/lib/call.h"

namespace aves::client {

class AdminClient {
 public:
  explicit AdminClient(std::shared_ptr<grpc::Channel> channel,
                       CallOptions options = {});

  absl::StatusOr<data::v1::GetPoolStatsResponse> GetPoolStats();
  absl::StatusOr<data::v1::GetMigrationStatusResponse> GetMigrationStatus();
  absl::StatusOr<data::v1::VerifyIndexesResponse> VerifyIndexes();
  // Newest first; limit 0: every one avesd kept.
  absl::StatusOr<data::v1::ListSlowQueriesResponse> ListSlowQueries(
      int limit = 0);
  // limit 0: the server's default (20).
  absl::StatusOr<data::v1::GetQueryStatsResponse> GetQueryStats(
      data::v1::GetQueryStatsRequest::Order order, int limit = 0);
  absl::StatusOr<data::v1::GetCacheStatsResponse> GetCacheStats();
  // ANALYZE now, of `table` or (empty) every service table; `dry_run`
  // only reports their statistics.
  absl::StatusOr<data::v1::RunAnalyzeResponse> RunAnalyze(
      const std::string& table, bool dry_run);
  absl::StatusOr<data::v1::GetIndexHealthResponse> GetIndexHealth();
  // REINDEX INDEX CONCURRENTLY of `index`, as a maintenance_reindex job.
  absl::StatusOr<data::v1::ReindexIndexResponse> ReindexIndex(
      const std::string& index);

 private:
  std::unique_ptr<data::v1::AdminService::Stub> stub_;
  CallOptions options_;
};

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_ADMIN_CLIENT_H_
