#include "server/handlers/admin_service.h"

#include <utility>

#include <google/protobuf/util/time_util.h>

#include "server/db/migrator.h"
#include "server/handlers/call_context.h"
#include "server/handlers/grpc_status.h"
#include "server/store/index_verification.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;
using google::protobuf::util::TimeUtil;

namespace {

google::protobuf::Duration ToProto(absl::Duration duration) {
  return TimeUtil::MicrosecondsToDuration(absl::ToInt64Microseconds(duration));
}

void ToProto(const observability::LatencySummary& summary,
             v1::LatencySummary* out) {
  out->set_count(summary.count);
  *out->mutable_p50() = ToProto(summary.p50);
  *out->mutable_p95() = ToProto(summary.p95);
  *out->mutable_p99() = ToProto(summary.p99);
  *out->mutable_max() = ToProto(summary.max);
}

}  // namespace

AdminServiceImpl::AdminServiceImpl(db::Database& database,
                                   std::vector<db::MigrationFile> migrations)
    : database_(database), migrations_(std::move(migrations)) {}

grpc::Status AdminServiceImpl::GetMigrationStatus(
    grpc::ServerContext* context,
    const v1::GetMigrationStatusRequest* /*request*/,
    v1::GetMigrationStatusResponse* response) {
  absl::StatusOr<db::SchemaStatus> status;
  absl::Status run =
      database_.Run(CallContextOf(context, "AdminService.GetMigrationStatus"),
                    db::Access::kRead, [&](pqxx::connection& connection) {
                      status = db::ReadSchemaStatus(connection, migrations_);
                      return status.status();
                    });
  if (!run.ok()) return ToGrpcStatus(run);
  for (const db::MigrationState& state : status->migrations) {
    v1::Migration* migration = response->add_migrations();
    migration->set_version(state.file.version);
    migration->set_name(state.file.name);
    migration->set_checksum(state.file.checksum);
    migration->set_no_transaction(state.file.no_transaction);
    migration->set_applied(state.applied.has_value());
    migration->set_checksum_mismatch(state.checksum_mismatch());
    if (state.applied.has_value()) {
      *migration->mutable_applied_at() = TimeUtil::MicrosecondsToTimestamp(
          absl::ToUnixMicros(state.applied->applied_at));
      migration->set_duration_ms(state.applied->duration_ms);
    }
  }
  response->set_schema_current(status->current());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::GetPoolStats(
    grpc::ServerContext* /*context*/,
    const v1::GetPoolStatsRequest* /*request*/,
    v1::GetPoolStatsResponse* response) {
  const db::PoolStats stats = database_.pool().Stats();
  response->set_total(stats.total);
  response->set_idle(stats.idle);
  response->set_in_use(stats.in_use);
  response->set_waiting(stats.waiting);
  response->set_opening(stats.opening);
  response->set_min(stats.min);
  response->set_max(stats.max);
  *response->mutable_oldest_waiter_age() = ToProto(stats.oldest_waiter_age);
  response->set_database_reachable(stats.database_reachable);
  response->set_last_connect_error(stats.last_connect_error);
  response->set_connections_opened(stats.opened);
  response->set_connect_failures(stats.connect_failures);
  response->set_connections_closed(stats.closed);
  for (const auto& [reason, count] : stats.discarded) {
    (*response->mutable_discarded_by_reason())[reason] = count;
  }
  response->set_acquired(stats.acquired);
  response->set_acquire_timeouts(stats.acquire_timeouts);
  response->set_rejected_full(stats.rejected_full);
  response->set_rejected_unavailable(stats.rejected_unavailable);
  response->set_cancels(stats.cancels);
  response->set_aborts(stats.aborts);
  response->set_lease_warnings(stats.lease_warnings);
  for (const auto& [code, count] : stats.errors)
    (*response->mutable_errors_by_code())[code] = count;
  response->set_errors_last_minute(stats.errors_last_minute);
  ToProto(stats.acquire_wait, response->mutable_acquire_wait());
  ToProto(stats.query_time, response->mutable_query_time());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::VerifyIndexes(
    grpc::ServerContext* context, const v1::VerifyIndexesRequest* /*request*/,
    v1::VerifyIndexesResponse* response) {
  absl::StatusOr<std::vector<store::IndexCheck>> checks = store::VerifyIndexes(
      database_, CallContextOf(context, "AdminService.VerifyIndexes"));
  if (!checks.ok()) return ToGrpcStatus(checks.status());
  bool all_passed = true;
  for (const store::IndexCheck& check : *checks) {
    v1::IndexCheck* out = response->add_checks();
    out->set_query(check.query);
    out->set_plan_mode(check.plan_mode);
    out->set_intended_index(check.intended_index);
    for (const std::string& index : check.plan_indexes)
      out->add_plan_indexes(index);
    out->set_passed(check.passed);
    out->set_plan(check.plan);
    all_passed &= check.passed;
  }
  response->set_all_passed(all_passed);
  return grpc::Status::OK;
}

}  // namespace aves::handlers
