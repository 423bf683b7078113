// AdminService: operator calls about the service itself (see admin.proto).
#ifndef AVES_SERVER_HANDLERS_ADMIN_SERVICE_H_
#define AVES_SERVER_HANDLERS_ADMIN_SERVICE_H_

#include <string>
#include <vector>

#include "aves/data/v1/admin.grpc.pb.h"
#include "server/db/migrator.h"

namespace aves::handlers {

class AdminServiceImpl final : public aves::data::v1::AdminService::Service {
 public:
  AdminServiceImpl(std::string conninfo,
                   std::vector<db::MigrationFile> migrations);

  grpc::Status GetMigrationStatus(
      grpc::ServerContext* context,
      const aves::data::v1::GetMigrationStatusRequest* request,
      aves::data::v1::GetMigrationStatusResponse* response) override;

 private:
  db::Migrator migrator_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_ADMIN_SERVICE_H_
