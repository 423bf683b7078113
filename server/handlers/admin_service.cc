#include "server/handlers/admin_service.h"

#include <algorithm>
#include <optional>
#include <utility>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>

#include "server/common/field_error.h"
#include "server/common/status_macros.h"
#include "server/db/database.h"
#include "server/db/migrator.h"
#include "server/handlers/call_context.h"
#include "server/handlers/proto_convert.h"
#include "server/handlers/unparsable_request.h"
#include "server/store/cache_invalidation_feed.h"
#include "server/store/index_verification.h"
#include "server/store/lookup_cache.h"
#include "server/store/query_stats.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;

namespace {
constexpr char kMigrationStatus[] = "AdminService.GetMigrationStatus";
constexpr char kVerifyIndexes[] = "AdminService.VerifyIndexes";
constexpr char kPoolStats[] = "AdminService.GetPoolStats";
constexpr char kSlowQueries[] = "AdminService.ListSlowQueries";
constexpr char kQueryStats[] = "AdminService.GetQueryStats";
constexpr char kCacheStats[] = "AdminService.GetCacheStats";
constexpr char kRunAnalyze[] = "AdminService.RunAnalyze";
constexpr char kIndexHealth[] = "AdminService.GetIndexHealth";
constexpr char kRpcStats[] = "AdminService.GetRpcStats";
constexpr char kReindex[] = "AdminService.ReindexIndex";
constexpr absl::Duration kDefaultRpcWindow = absl::Minutes(10);
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
void ToProto(const store::DueTable& table, v1::TableStatistics* out) {
  out->set_table(table.table);
  out->set_modified_since_analyze(table.modified_since_analyze);
  out->set_live_rows(table.live_rows);
  if (table.last_analyze) {
    *out->mutable_last_analyze() = ToTimestamp(*table.last_analyze);
  }
  if (table.last_autoanalyze) {
    *out->mutable_last_autoanalyze() = ToTimestamp(*table.last_autoanalyze);
  }
  out->set_due(table.reason);
}

}  // namespace

AdminServiceImpl::AdminServiceImpl(
    db::Database& database, store::QueryStats& query_stats,
    const store::LookupCache& cache,
    const store::CacheInvalidationFeed& cache_feed,
    store::MaintenanceStore& maintenance, store::AnalyzePolicy analyze_policy,
    const RpcHistory& rpc_history, std::string owner_url,
    HandlerContext handler, std::vector<db::MigrationFile> migrations)
    : database_(database),
      query_stats_(query_stats),
      cache_(cache),
      cache_feed_(cache_feed),
      maintenance_(maintenance),
      analyze_policy_(analyze_policy),
      rpc_history_(rpc_history),
      owner_url_(std::move(owner_url)),
      serving_since_(absl::Now()),
      handler_(handler),
      migrations_(std::move(migrations)) {
  using Service = data::v1::AdminService;
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, GetMigrationStatus);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, VerifyIndexes);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, GetPoolStats);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, ListSlowQueries);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, GetQueryStats);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, GetCacheStats);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, RunAnalyze);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, GetIndexHealth);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, GetRpcStats);
  AVES_PARSE_CHECKED_UNARY(Service, AdminServiceImpl, ReindexIndex);
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

grpc::ServerUnaryReactor* AdminServiceImpl::GetCacheStats(
    grpc::CallbackServerContext* context,
    const v1::GetCacheStatsRequest* /*request*/,
    v1::GetCacheStatsResponse* response) {
  return RespondLogged(
      context, kCacheStats, handler_.slow_rpc, [=](int64_t* /*rows*/) {
        const store::LookupCacheStats stats = cache_.stats();
        response->set_enabled(stats.enabled);
        response->set_bypassed(stats.bypassed);
        response->set_entries(stats.entries);
        response->set_bytes(stats.bytes);
        response->set_max_entries(stats.max_entries);
        response->set_max_bytes(stats.max_bytes);
        response->set_hits(stats.hits);
        response->set_negative_hits(stats.negative_hits);
        response->set_misses(stats.misses);
        const uint64_t asked = stats.hits + stats.negative_hits + stats.misses;
        response->set_hit_rate(
            asked == 0 ? 0.0
                       : static_cast<double>(stats.hits + stats.negative_hits) /
                             asked);
        response->set_evictions(stats.evictions);
        response->set_expirations(stats.expirations);
        response->set_invalidations(stats.invalidations);
        response->set_flushes(stats.flushes);
        response->set_stale_fills(stats.stale_fills);
        response->set_invalidation_messages(cache_feed_.messages());
        response->set_feed_disconnects(cache_feed_.disconnects());
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

grpc::ServerUnaryReactor* AdminServiceImpl::RunAnalyze(
    grpc::CallbackServerContext* context, const v1::RunAnalyzeRequest* request,
    v1::RunAnalyzeResponse* response) {
  return OffloadLogged(
      handler_, context, kRunAnalyze, [=](int64_t* rows) -> absl::Status {
        const common::CallContext call = CallContextOf(context, kRunAnalyze);
        ASSIGN_OR_RETURN(std::vector<store::DueTable> tables,
                         maintenance_.Statistics(call, analyze_policy_));
        if (request->has_table()) {
          std::vector<store::DueTable> named;
          std::vector<std::string> known;
          for (store::DueTable& table : tables) {
            known.push_back(table.table);
            if (table.table == request->table()) {
              named.push_back(std::move(table));
            }
          }
          // The name is not echoed: it is the caller's text, of any size.
          if (named.empty()) {
            return common::InvalidField(
                "table", absl::StrCat("is not one of the service's tables (",
                                      absl::StrJoin(known, ", "), ")"));
          }
          tables = std::move(named);
        }
        std::vector<std::string> names;
        for (const store::DueTable& table : tables) {
          names.push_back(table.table);
          ToProto(table, response->add_tables());
        }
        *rows = response->tables_size();
        if (request->dry_run()) return absl::OkStatus();
        ASSIGN_OR_RETURN(store::MaintenanceRun run,
                         maintenance_.RunNow(call, analyze_policy_, names));
        if (run.job_id.empty())
          return absl::FailedPreconditionError(run.skipped);
        response->set_job_id(run.job_id);
        for (const std::string& table : run.done) {
          response->add_analyzed(table);
        }
        for (const std::string& failure : run.failed) {
          response->add_failed(failure);
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetIndexHealth(
    grpc::CallbackServerContext* context,
    const v1::GetIndexHealthRequest* /*request*/,
    v1::GetIndexHealthResponse* response) {
  return OffloadLogged(
      handler_, context, kIndexHealth, [=](int64_t* rows) -> absl::Status {
        ASSIGN_OR_RETURN(
            const store::IndexHealthReport report,
            maintenance_.ReadIndexHealth(CallContextOf(context, kIndexHealth),
                                         analyze_policy_));
        for (const store::IndexHealth& index : report.indexes) {
          v1::IndexHealth* out = response->add_indexes();
          out->set_index(index.index);
          out->set_table(index.table);
          out->set_definition(index.definition);
          out->set_valid(index.valid);
          out->set_scans(index.scans);
          out->set_size_bytes(index.size_bytes);
          out->set_enforces_constraint(index.enforces_constraint);
          out->set_estimated_bloat_bytes(index.estimated_bloat_bytes);
          for (const std::string& other : index.covered_by) {
            out->add_covered_by(other);
          }
        }
        if (report.stats_since) {
          *response->mutable_stats_since() = ToTimestamp(*report.stats_since);
        }
        for (const store::DueTable& table : report.tables) {
          ToProto(table, response->add_tables());
        }
        const absl::Duration schedule = analyze_policy_.schedule;
        *response->mutable_analyze_schedule() = ToDuration(schedule);
        if (report.last_scheduled_analyze) {
          *response->mutable_last_scheduled_analyze() =
              ToTimestamp(*report.last_scheduled_analyze);
        }
        if (schedule > absl::ZeroDuration()) {
          // Never run: due at the next check, which is now at the latest.
          *response->mutable_next_scheduled_analyze() =
              ToTimestamp(report.last_scheduled_analyze
                              ? *report.last_scheduled_analyze + schedule
                              : absl::Now());
        }
        *rows = response->indexes_size();
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ReindexIndex(
    grpc::CallbackServerContext* context,
    const v1::ReindexIndexRequest* request,
    v1::ReindexIndexResponse* response) {
  return OffloadLogged(
      handler_, context, kReindex, [=](int64_t* rows) -> absl::Status {
        const common::CallContext call = CallContextOf(context, kReindex);
        // Matched against the catalog's list: the request's text never
        // reaches SQL, nor the error (it may be of any size).
        const auto size_of = [&]() -> absl::StatusOr<std::optional<int64_t>> {
          ASSIGN_OR_RETURN(const store::IndexHealthReport report,
                           maintenance_.ReadIndexHealth(call, analyze_policy_));
          for (const store::IndexHealth& index : report.indexes) {
            if (index.index == request->index()) return index.size_bytes;
          }
          return std::nullopt;
        };
        ASSIGN_OR_RETURN(const std::optional<int64_t> before, size_of());
        if (!before) {
          return common::InvalidField(
              "index",
              "is not an index of the service's tables "
              "(avesctl maintenance status lists them)");
        }
        ASSIGN_OR_RETURN(const store::MaintenanceRun run,
                         maintenance_.Reindex(call, analyze_policy_, owner_url_,
                                              request->index()));
        if (run.job_id.empty()) {
          return absl::FailedPreconditionError(run.skipped);
        }
        response->set_job_id(run.job_id);
        response->set_size_bytes_before(*before);
        if (!run.failed.empty()) {
          return absl::AbortedError(absl::StrCat(
              "REINDEX failed (job ", run.job_id, "): ", run.failed.front()));
        }
        ASSIGN_OR_RETURN(const std::optional<int64_t> after, size_of());
        response->set_size_bytes_after(after.value_or(0));
        *rows = 1;
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetRpcStats(
    grpc::CallbackServerContext* context, const v1::GetRpcStatsRequest* request,
    v1::GetRpcStatsResponse* response) {
  return RespondLogged(
      context, kRpcStats, handler_.slow_rpc, [=](int64_t* rows) {
        absl::Duration window =
            std::min(kDefaultRpcWindow, rpc_history_.span());
        if (request->has_window()) {
          // Checked in its own fields: a converted value could overflow.
          const google::protobuf::Duration& asked = request->window();
          if (asked.seconds() < 0 || asked.nanos() < 0 ||
              asked.nanos() > 999'999'999) {
            return common::InvalidField("window",
                                        "must be a non-negative duration");
          }
          window = asked.seconds() > absl::ToInt64Seconds(rpc_history_.span())
                       ? rpc_history_.span()
                       : absl::Seconds(asked.seconds()) +
                             absl::Nanoseconds(asked.nanos());
        }
        *response->mutable_interval() = ToDuration(rpc_history_.interval());
        *response->mutable_serving_since() = ToTimestamp(serving_since_);
        for (const RpcHistory::MethodSeries& series :
             rpc_history_.Series(window)) {
          v1::RpcMethodStats* method = response->add_methods();
          method->set_method(series.method);
          method->set_requests(series.requests);
          method->set_errors(series.errors);
          *method->mutable_p99() = ToDuration(series.p99);
          for (const RpcHistory::Point& point : series.points) {
            v1::RpcPoint* out = method->add_points();
            *out->mutable_end_time() = ToTimestamp(point.end);
            out->set_requests(point.requests);
            out->set_errors(point.errors);
            *out->mutable_p99() = ToDuration(point.p99);
          }
        }
        *rows = response->methods_size();
        return absl::OkStatus();
      });
}

}  // namespace aves::handlers
