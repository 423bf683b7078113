#include "server/handlers/admin_service.h"

#include <utility>

#include "server/common/status_macros.h"
#include "server/db/database.h"
#include "server/db/migrator.h"
#include "server/handlers/call_context.h"
#include "server/handlers/proto_convert.h"
#include "server/handlers/unparsable_request.h"
#include "server/store/index_verification.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;

namespace {
constexpr char kMigrationStatus[] = "AdminService.GetMigrationStatus";
constexpr char kVerifyIndexes[] = "AdminService.VerifyIndexes";
constexpr char kPoolStats[] = "AdminService.GetPoolStats";
}  // namespace

AdminServiceImpl::AdminServiceImpl(db::Database& database,
                                   HandlerContext handler,
                                   std::vector<db::MigrationFile> migrations)
    : database_(database),
      handler_(handler),
      migrations_(std::move(migrations)) {
  using Service = data::v1::AdminService;
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, GetMigrationStatus);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, VerifyIndexes);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, GetPoolStats);
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetMigrationStatus(
    grpc::CallbackServerContext* context,
    const v1::GetMigrationStatusRequest* /*request*/,
    v1::GetMigrationStatusResponse* response) {
  return OffloadLogged(handler_, context, kMigrationStatus, [=](int64_t* rows) {
    ASSIGN_OR_RETURN(
        const db::SchemaStatus status,
        db::ReadSchemaStatus(
            database_, CallContextOf(context, kMigrationStatus), migrations_));
    ToProto(status, response);
    *rows = response->migrations_size();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::VerifyIndexes(
    grpc::CallbackServerContext* context,
    const v1::VerifyIndexesRequest* /*request*/,
    v1::VerifyIndexesResponse* response) {
  return OffloadLogged(handler_, context, kVerifyIndexes, [=](int64_t* rows) {
    ASSIGN_OR_RETURN(const std::vector<store::IndexCheck> checks,
                     store::VerifyIndexes(
                         database_, CallContextOf(context, kVerifyIndexes)));
    ToProto(checks, response);
    *rows = response->checks_size();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetPoolStats(
    grpc::CallbackServerContext* context,
    const v1::GetPoolStatsRequest* /*request*/,
    v1::GetPoolStatsResponse* response) {
  return RespondLogged(context, kPoolStats, handler_.slow_rpc,
                       [=](int64_t* /*rows*/) {
                         ToProto(database_.pool().Stats(), response);
                         return absl::OkStatus();
                       });
}

}  // namespace aves::handlers
