// AdminService: operator calls about the service itself (see admin.proto).
#ifndef AVES_SERVER_HANDLERS_ADMIN_SERVICE_H_
#define AVES_SERVER_HANDLERS_ADMIN_SERVICE_H_

#include <vector>

#include "aves/data/v1/admin.grpc.pb.h"
#include "server/db/database.h"
#include "server/db/migration_file.h"

namespace aves::handlers {

class AdminServiceImpl final : public aves::data::v1::AdminService::Service {
 public:
  AdminServiceImpl(db::Database& database,
                   std::vector<db::MigrationFile> migrations);

  grpc::Status GetMigrationStatus(
      grpc::ServerContext* context,
      const aves::data::v1::GetMigrationStatusRequest* request,
      aves::data::v1::GetMigrationStatusResponse* response) override;
  grpc::Status VerifyIndexes(
      grpc::ServerContext* context,
      const aves::data::v1::VerifyIndexesRequest* request,
      aves::data::v1::VerifyIndexesResponse* response) override;
  grpc::Status GetPoolStats(
      grpc::ServerContext* context,
      const aves::data::v1::GetPoolStatsRequest* request,
      aves::data::v1::GetPoolStatsResponse* response) override;

 private:
  db::Database& database_;
  const std::vector<db::MigrationFile> migrations_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_ADMIN_SERVICE_H_
