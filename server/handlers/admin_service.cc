#include "server/handlers/admin_service.h"

#include <utility>

#include <google/protobuf/util/time_util.h>

#include "server/handlers/grpc_status.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;

AdminServiceImpl::AdminServiceImpl(std::string conninfo,
                                   std::vector<db::MigrationFile> migrations)
    : migrator_(std::move(conninfo), std::move(migrations)) {}

grpc::Status AdminServiceImpl::GetMigrationStatus(
    grpc::ServerContext* /*context*/,
    const v1::GetMigrationStatusRequest* /*request*/,
    v1::GetMigrationStatusResponse* response) {
  absl::StatusOr<db::SchemaStatus> status = migrator_.Status();
  if (!status.ok()) return ToGrpcStatus(status.status());
  for (const db::MigrationState& state : status->migrations) {
    v1::Migration* migration = response->add_migrations();
    migration->set_version(state.file.version);
    migration->set_name(state.file.name);
    migration->set_checksum(state.file.checksum);
    migration->set_no_transaction(state.file.no_transaction);
    migration->set_applied(state.applied.has_value());
    migration->set_checksum_mismatch(state.checksum_mismatch());
    if (state.applied.has_value()) {
      *migration->mutable_applied_at() =
          google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
              absl::ToUnixMicros(state.applied->applied_at));
      migration->set_duration_ms(state.applied->duration_ms);
    }
  }
  response->set_schema_current(status->current());
  return grpc::Status::OK;
}

}  // namespace aves::handlers
