#include "server/app/services.h"

#include <set>
#include <string>
#include <utility>

#include <absl/time/clock.h>

#include "server/app/background_tasks.h"
#include "server/app/sizing.h"
#include "server/auth/authenticator.h"
#include "server/bulk/bulk_metrics.h"
#include "server/bulk/bulk_sql.h"
#include "server/bulk/load_store.h"
#include "server/bulk/table_catalog.h"
#include "server/common/crypto.h"
#include "server/db/database.h"
#include "server/handlers/admin_service.h"
#include "server/handlers/annotation_service.h"
#include "server/handlers/authorization.h"
#include "server/handlers/batch_job_service.h"
#include "server/handlers/bulk_insert_service.h"
#include "server/handlers/exercise_cache_service.h"
#include "server/handlers/page_token.h"
#include "server/store/annotation_store.h"
#include "server/store/cache_invalidation_feed.h"
#include "server/store/exercise_cache_store.h"
#include "server/store/job_feed.h"
#include "server/store/job_store.h"
#include "server/store/lookup_cache.h"
#include "server/store/maintenance_store.h"
#include "server/store/query_stats.h"

namespace aves::app {
namespace {

// Every store's named statements, prepared on each pooled connection.
std::vector<db::PreparedStatement> AllPreparedStatements() {
  std::vector<db::PreparedStatement> statements;
  for (auto more : {store::ExerciseCacheStore::PreparedStatements(),
                    store::JobStore::PreparedStatements(),
                    store::AnnotationStore::PreparedStatements()}) {
    for (db::PreparedStatement& statement : more)
      statements.push_back(std::move(statement));
  }
  return statements;
}

}  // namespace

// Declared in dependency order: destroyed services first, the database last.
struct Services::Parts {
  // Outlive the services, whose handlers hold the authorizer.
  std::unique_ptr<auth::Authenticator> authenticator;
  std::unique_ptr<handlers::CallAuthorizer> authorizer;
  std::unique_ptr<db::Database> database;
  std::unique_ptr<store::ExerciseCacheStore> exercise_cache;
  std::unique_ptr<store::LookupCache> lookup_cache;
  // Stopped before the cache it fills goes.
  std::unique_ptr<store::CacheInvalidationFeed> cache_feed;
  std::unique_ptr<store::AnnotationStore> annotations;
  std::unique_ptr<store::JobStore> jobs;
  std::unique_ptr<store::QueryStats> query_stats;
  std::unique_ptr<store::MaintenanceStore> maintenance;
  std::unique_ptr<bulk::BulkMetrics> bulk_metrics;
  // Outlives the services: watchers unsubscribe when their calls end.
  std::unique_ptr<store::JobFeed> job_feed;
  std::unique_ptr<bulk::DatabaseLoadStore> bulk_loads;
  std::unique_ptr<handlers::PageTokenCodec> page_tokens;
  std::unique_ptr<handlers::AdminServiceImpl> admin;
  std::unique_ptr<handlers::ExerciseCacheServiceImpl> exercise_cache_service;
  std::unique_ptr<handlers::AnnotationServiceImpl> annotation_service;
  std::unique_ptr<handlers::BatchJobServiceImpl> batch_job_service;
  std::unique_ptr<handlers::BulkInsertServiceImpl> bulk_insert_service;
};

std::unique_ptr<Services> Services::Build(
    const config::Config& config, std::vector<db::MigrationFile> migrations,
    common::Executor& executor, common::Executor& bulk_executor,
    std::unique_ptr<auth::Authenticator> authenticator,
    const handlers::RpcHistory& rpc_history) {
  const Sizes sizes = SizesFor(config);
  auto parts = std::make_unique<Parts>();
  parts->authenticator = std::move(authenticator);
  parts->authorizer = std::make_unique<handlers::CallAuthorizer>(
      parts->authenticator.get(), config.rate_limits);
  std::vector<db::PreparedStatement> sent_as_text =
      bulk::sql::NamedStatements();
  for (db::PreparedStatement& named :
       store::MaintenanceStore::NamedStatements()) {
    sent_as_text.push_back(std::move(named));
  }
  parts->database = std::make_unique<db::Database>(
      config.database_url, config.pool, AllPreparedStatements(), sent_as_text);
  // Connections open in the background; health stays NOT_SERVING until
  // DB_POOL_MIN of them are up, and avesd answers health meanwhile.
  parts->database->query_metrics().Configure(
      {config.slow_query, config.slow_query_explain_interval,
       config.slow_query_log_size});
  parts->database->Start();
  db::Database& database = *parts->database;
  parts->exercise_cache = std::make_unique<store::ExerciseCacheStore>(database);
  store::LookupCacheOptions cache_options;
  cache_options.max_entries = static_cast<size_t>(config.cache_max_entries);
  cache_options.max_bytes = static_cast<size_t>(config.cache_max_bytes);
  cache_options.negative_ttl = config.cache_negative_ttl;
  parts->lookup_cache = std::make_unique<store::LookupCache>(cache_options);
  parts->cache_feed = std::make_unique<store::CacheInvalidationFeed>(
      config.database_url, *parts->lookup_cache,
      store::CacheInvalidationFeed::Options{config.feed_heartbeat,
                                            config.feed_dead_after});
  parts->cache_feed->Start();
  parts->annotations = std::make_unique<store::AnnotationStore>(database);
  parts->jobs = std::make_unique<store::JobStore>(database);
  parts->query_stats = std::make_unique<store::QueryStats>(
      database, config.query_stats_interval);
  parts->maintenance = std::make_unique<store::MaintenanceStore>(database);
  parts->job_feed = std::make_unique<store::JobFeed>(
      config.database_url,
      store::JobFeed::Options{config.feed_heartbeat, config.feed_dead_after,
                              config.watch_max_duration});
  parts->job_feed->Start();
  const std::vector<std::string> bulk_tables =
      config.bulk_tables.empty() ? bulk::TableCatalog::DefaultTables()
                                 : config.bulk_tables;
  parts->bulk_loads = std::make_unique<bulk::DatabaseLoadStore>(
      database, bulk_tables, config.bulk_lease);
  parts->bulk_metrics = std::make_unique<bulk::BulkMetrics>(bulk_tables);
  // A loader writes every bulk table but users unless told otherwise.
  std::set<std::string> loader_tables(config.bulk_loader_tables.begin(),
                                      config.bulk_loader_tables.end());
  if (config.bulk_loader_tables.empty()) {
    loader_tables.insert(bulk_tables.begin(), bulk_tables.end());
    loader_tables.erase("users");
  }
  parts->page_tokens = std::make_unique<handlers::PageTokenCodec>(
      config.page_token_key.empty() ? common::RandomBytes(32)
                                    : config.page_token_key,
      config.page_token_lifetime);

  const handlers::HandlerContext handler{executor, config.slow_rpc,
                                         parts->authorizer.get()};
  parts->admin = std::make_unique<handlers::AdminServiceImpl>(
      database, *parts->query_stats, *parts->lookup_cache, *parts->cache_feed,
      *parts->maintenance, AnalyzePolicyOf(config), rpc_history,
      config.migration_url(), handler, std::move(migrations));
  parts->exercise_cache_service =
      std::make_unique<handlers::ExerciseCacheServiceImpl>(
          *parts->exercise_cache, *parts->lookup_cache, handler,
          handlers::ExerciseCacheServiceImpl::Batching{
              config.lookup_batch_max, sizes.lookup_batch_tasks,
              static_cast<size_t>(config.lookup_queue_bytes),
              config.batch_get_max});
  parts->annotation_service = std::make_unique<handlers::AnnotationServiceImpl>(
      *parts->annotations, handler, *parts->page_tokens);
  parts->batch_job_service = std::make_unique<handlers::BatchJobServiceImpl>(
      *parts->jobs, *parts->job_feed, handler, *parts->page_tokens,
      handlers::BatchJobServiceImpl::WatchOptions{
          static_cast<size_t>(config.watch_max_queued),
          static_cast<size_t>(config.watch_max_queued_bytes),
          config.watch_max_streams,
          static_cast<size_t>(config.max_message_bytes / 2)});
  bulk::LoadLimits limits;
  limits.parallel_batches = config.bulk_parallel_batches;
  limits.header.max_batch_rows = config.bulk_max_batch_rows;
  limits.header.default_max_errors = config.bulk_default_max_errors;
  limits.header.max_max_errors = config.bulk_max_errors;
  limits.max_stream_bytes = config.bulk_max_stream_bytes;
  // Room for the message's own framing beside the estimate.
  limits.max_returned_message_bytes = config.max_message_bytes / 2;
  limits.max_loads = config.bulk_max_loads;
  limits.idle_timeout = config.bulk_idle_timeout;
  limits.publish_timeout = config.bulk_publish_timeout;
  parts->bulk_insert_service =
      std::make_unique<handlers::BulkInsertServiceImpl>(
          *parts->bulk_loads,
          handlers::HandlerContext{bulk_executor, config.slow_rpc,
                                   parts->authorizer.get()},
          limits, std::move(loader_tables), parts->bulk_metrics.get());
  return std::unique_ptr<Services>(new Services(std::move(parts)));
}

Services::Services(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

Services::~Services() = default;

db::Database& Services::database() { return *parts_->database; }

store::ExerciseCacheStore& Services::exercise_cache() {
  return *parts_->exercise_cache;
}

bulk::DatabaseLoadStore& Services::bulk_loads() { return *parts_->bulk_loads; }

store::JobFeed& Services::job_feed() { return *parts_->job_feed; }

const store::LookupCache& Services::lookup_cache() const {
  return *parts_->lookup_cache;
}

store::CacheInvalidationFeed& Services::cache_feed() {
  return *parts_->cache_feed;
}

store::QueryStats& Services::query_stats() { return *parts_->query_stats; }
store::MaintenanceStore& Services::maintenance() {
  return *parts_->maintenance;
}

const bulk::BulkMetrics& Services::bulk_metrics() const {
  return *parts_->bulk_metrics;
}

int Services::open_watchers() const {
  return parts_->batch_job_service->open_watchers();
}

uint64_t Services::watchers_dropped_slow() const {
  return parts_->batch_job_service->watchers_dropped_slow();
}

const auth::Authenticator* Services::authenticator() const {
  return parts_->authenticator.get();
}

const handlers::CallAuthorizer& Services::authorizer() const {
  return *parts_->authorizer;
}

void Services::EndIdleStreams() {
  parts_->bulk_insert_service->EndIdleStreams(absl::Now());
}

std::vector<grpc::Service*> Services::grpc_services() {
  return {parts_->admin.get(), parts_->exercise_cache_service.get(),
          parts_->batch_job_service.get(), parts_->annotation_service.get(),
          parts_->bulk_insert_service.get()};
}

std::vector<std::string> Services::grpc_service_names() {
  return {data::v1::AdminService::service_full_name(),
          data::v1::ExerciseCacheService::service_full_name(),
          data::v1::BatchJobService::service_full_name(),
          data::v1::AnnotationService::service_full_name(),
          data::v1::BulkInsertService::service_full_name()};
}

}  // namespace aves::app
