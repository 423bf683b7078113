#include "server/handlers/admin_service.h"

#include <utility>

#include <absl/strings/str_cat.h>

#include "server/common/field_error.h"
#include "server/common/status_macros.h"
#include "server/db/database.h"
#include "server/db/migrator.h"
#include "server/handlers/call_context.h"
#include "server/handlers/proto_convert.h"
#include "server/handlers/unparsable_request.h"
#include "server/store/index_verification.h"
#include "server/store/query_stats.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;

namespace {
constexpr char kMigrationStatus[] = "AdminService.GetMigrationStatus";
constexpr char kVerifyIndexes[] = "AdminService.VerifyIndexes";
constexpr char kPoolStats[] = "AdminService.GetPoolStats";
constexpr char kSlowQueries[] = "AdminService.ListSlowQueries";
constexpr char kQueryStats[] = "AdminService.GetQueryStats";
constexpr int kDefaultQueryStats = 20;
constexpr int kMaxQueryStats = 500;

absl::StatusOr<store::QueryStatsOrder> OrderOf(
    v1::GetQueryStatsRequest::Order order) {
  switch (order) {
    case v1::GetQueryStatsRequest::ORDER_UNSPECIFIED:
    case v1::GetQueryStatsRequest::ORDER_TOTAL_TIME:
      return store::QueryStatsOrder::kTotalTime;
    case v1::GetQueryStatsRequest::ORDER_MEAN_TIME:
      return store::QueryStatsOrder::kMeanTime;
    case v1::GetQueryStatsRequest::ORDER_CALLS:
      return store::QueryStatsOrder::kCalls;
    default:
      return common::InvalidField("order_by", "is not a known order");
  }
}
}  // namespace

AdminServiceImpl::AdminServiceImpl(db::Database& database,
                                   store::QueryStats& query_stats,
                                   HandlerContext handler,
                                   std::vector<db::MigrationFile> migrations)
    : database_(database),
      query_stats_(query_stats),
      handler_(handler),
      migrations_(std::move(migrations)) {
  using Service = data::v1::AdminService;
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, GetMigrationStatus);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, VerifyIndexes);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, GetPoolStats);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, ListSlowQueries);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, GetQueryStats);
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

grpc::ServerUnaryReactor* AdminServiceImpl::ListSlowQueries(
    grpc::CallbackServerContext* context,
    const v1::ListSlowQueriesRequest* request,
    v1::ListSlowQueriesResponse* response) {
  return RespondLogged(
      context, kSlowQueries, handler_.slow_rpc, [=](int64_t* rows) {
        if (request->limit() < 0) {
          return common::InvalidField("limit", "must not be negative");
        }
        const db::QueryMetrics& metrics = database_.query_metrics();
        for (const db::SlowQuery& query :
             metrics.SlowQueries(request->limit())) {
          ToProto(query, response->add_queries());
        }
        response->set_total_slow(metrics.total_slow());
        response->set_capacity(metrics.options().log_size);
        *response->mutable_threshold() =
            ToDuration(metrics.options().threshold);
        *rows = response->queries_size();
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetQueryStats(
    grpc::CallbackServerContext* context,
    const v1::GetQueryStatsRequest* request,
    v1::GetQueryStatsResponse* response) {
  return OffloadLogged(handler_, context, kQueryStats, [=](int64_t* rows) {
    ASSIGN_OR_RETURN(const store::QueryStatsOrder order,
                     OrderOf(request->order_by()));
    if (request->limit() < 0 || request->limit() > kMaxQueryStats) {
      return common::InvalidField(
          "limit", absl::StrCat("must be 0 to ", kMaxQueryStats));
    }
    ASSIGN_OR_RETURN(
        const store::QueryStatsWindow window,
        query_stats_.Window(
            CallContextOf(context, kQueryStats), order,
            request->limit() == 0 ? kDefaultQueryStats : request->limit()));
    ToProto(window, response);
    *rows = response->statements_size();
    return absl::OkStatus();
  });
}

}  // namespace aves::handlers
