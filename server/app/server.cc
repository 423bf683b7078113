#include "server/app/server.h"

#include <algorithm>
#include <thread>
#include <utility>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <openssl/rand.h>

#include "server/app/health_monitor.h"
#include "server/app/periodic_task.h"
#include "server/common/executor.h"
#include "server/db/database.h"
#include "server/handlers/admin_service.h"
#include "server/handlers/annotation_service.h"
#include "server/handlers/batch_job_service.h"
#include "server/handlers/bulk_insert_service.h"
#include "server/handlers/exercise_cache_service.h"
#include "server/handlers/page_token.h"
#include "server/observability/logging.h"
#include "server/store/annotation_store.h"
#include "server/store/bulk_load_store.h"
#include "server/store/exercise_cache_store.h"
#include "server/store/job_feed.h"
#include "server/store/job_store.h"
#include "server/store/table_catalog.h"

namespace aves::app {

struct AvesServer::Impl {
  config::Config config;
  std::unique_ptr<db::Database> database;
  std::unique_ptr<store::ExerciseCacheStore> exercise_cache;
  std::unique_ptr<handlers::AdminServiceImpl> admin_service;
  std::unique_ptr<handlers::ExerciseCacheServiceImpl> exercise_cache_service;
  std::unique_ptr<store::JobStore> jobs;
  std::unique_ptr<handlers::PageTokenCodec> page_tokens;
  std::unique_ptr<store::AnnotationStore> annotations;
  std::unique_ptr<handlers::AnnotationServiceImpl> annotation_service;
  // Outlives the server: watchers unsubscribe from it when their calls end.
  std::unique_ptr<store::JobFeed> job_feed;
  std::unique_ptr<handlers::BatchJobServiceImpl> batch_job_service;
  std::unique_ptr<store::BulkLoadStore> bulk_loads;
  std::unique_ptr<handlers::BulkInsertServiceImpl> bulk_insert_service;
  std::unique_ptr<PeriodicTask> purge;
  std::unique_ptr<PeriodicTask> bulk_sweep;
  std::unique_ptr<grpc::Server> server;
  // Declared after `server`, so it is destroyed first: by then Shutdown has
  // waited for every call, and the queued work it finishes is done.
  std::unique_ptr<common::Executor> executor;
  std::unique_ptr<HealthMonitor> health_monitor;
  int port = 0;
  absl::Mutex shutdown_mutex;
  bool shut_down ABSL_GUARDED_BY(shutdown_mutex) = false;
};

namespace {

// Batches in flight: one per core unless configured, never more than there
// are connections. Each extra batch in flight is another thread blocked on
// PostgreSQL and more context switches; on 2 cores, 2 beat 20 by ~60% in
// lookups/s (ARCHITECTURE.md).
int LookupBatchTasks(const config::Config& config) {
  int tasks = config.lookup_batch_tasks;
  if (tasks == 0) tasks = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(tasks, 1, config.pool.max_connections);
}

}  // namespace

AvesServer::AvesServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AvesServer::~AvesServer() {
  Shutdown();
  Wait();
}

absl::StatusOr<std::unique_ptr<AvesServer>> AvesServer::Start(
    const config::Config& config, std::vector<db::MigrationFile> migrations) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  std::vector<db::PreparedStatement> statements =
      store::ExerciseCacheStore::PreparedStatements();
  for (auto more : {store::JobStore::PreparedStatements(),
                    store::AnnotationStore::PreparedStatements()}) {
    for (db::PreparedStatement& statement : more)
      statements.push_back(std::move(statement));
  }
  impl->database = std::make_unique<db::Database>(
      config.database_url, config.pool, std::move(statements));
  // Connections open in the background; health stays NOT_SERVING until
  // DB_POOL_MIN of them are up, and avesd answers health meanwhile.
  impl->database->Start();
  impl->admin_service =
      std::make_unique<handlers::AdminServiceImpl>(*impl->database, migrations);
  impl->exercise_cache =
      std::make_unique<store::ExerciseCacheStore>(*impl->database);
  // As many threads run database work as there are connections to run it on;
  // the queue beyond that is bounded like the pool's own wait queue.
  impl->executor = std::make_unique<common::Executor>(
      config.pool.max_connections,
      static_cast<size_t>(config.pool.max_connections +
                          config.pool.max_waiters));
  impl->exercise_cache_service =
      std::make_unique<handlers::ExerciseCacheServiceImpl>(
          *impl->exercise_cache, *impl->executor, config.slow_rpc,
          handlers::ExerciseCacheServiceImpl::Batching{
              config.lookup_batch_max, LookupBatchTasks(config),
              static_cast<size_t>(config.pool.max_connections +
                                  config.pool.max_waiters)});
  std::string token_key = config.page_token_key;
  if (token_key.empty()) {
    token_key.resize(32);
    RAND_bytes(reinterpret_cast<unsigned char*>(token_key.data()),
               static_cast<int>(token_key.size()));
  }
  impl->page_tokens =
      std::make_unique<handlers::PageTokenCodec>(std::move(token_key));
  impl->jobs = std::make_unique<store::JobStore>(*impl->database);
  impl->job_feed = std::make_unique<store::JobFeed>(config.database_url);
  impl->job_feed->Start();
  impl->batch_job_service = std::make_unique<handlers::BatchJobServiceImpl>(
      *impl->jobs, *impl->job_feed, *impl->executor, *impl->page_tokens,
      config.slow_rpc,
      handlers::BatchJobServiceImpl::WatchOptions{
          static_cast<size_t>(config.watch_max_queued)});
  impl->bulk_loads = std::make_unique<store::BulkLoadStore>(*impl->database);
  impl->bulk_insert_service = std::make_unique<handlers::BulkInsertServiceImpl>(
      *impl->database, *impl->bulk_loads, *impl->executor,
      config.bulk_tables.empty() ? store::TableCatalog::DefaultTables()
                                 : config.bulk_tables,
      handlers::BulkInsertServiceImpl::Limits{config.bulk_parallel_batches,
                                              config.bulk_max_batch_rows},
      config.slow_rpc);
  impl->annotations = std::make_unique<store::AnnotationStore>(*impl->database);
  impl->annotation_service = std::make_unique<handlers::AnnotationServiceImpl>(
      *impl->annotations, *impl->executor, *impl->page_tokens, config.slow_rpc);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address,
                           grpc::InsecureServerCredentials(), &impl->port);
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  // Keepalive: ping idle connections every minute and drop peers that do not
  // answer within 20 s. Clients (client/lib) ping every 30 s; gRPC servers
  // refuse pings more often than every 5 minutes by default (GOAWAY
  // "too_many_pings"), so permit them down to every 20 s.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20'000);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 20'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.RegisterService(impl->admin_service.get());
  builder.RegisterService(impl->exercise_cache_service.get());
  builder.RegisterService(impl->batch_job_service.get());
  builder.RegisterService(impl->annotation_service.get());
  builder.RegisterService(impl->bulk_insert_service.get());
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || impl->port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen_address));
  }
  grpc::HealthCheckServiceInterface* health =
      impl->server->GetHealthCheckService();
  // NOT_SERVING until the monitor's first check says otherwise.
  health->SetServingStatus(false);
  impl->database->pool().WaitUntilReady(config.pool.connect_timeout);
  impl->job_feed->WaitUntilListening(config.pool.connect_timeout);
  // The bulk-load catalog is read now when the database is up (a failure is
  // retried on the first load, so avesd may start before its database).
  if (absl::StatusOr<std::shared_ptr<const store::TableCatalog>> catalog =
          impl->bulk_insert_service->Catalog();
      !catalog.ok()) {
    observability::Logger("bulk")->warn(
        "bulk-load catalog not read at start-up (retried on first use): {}",
        catalog.status().ToString());
  }
  impl->health_monitor = std::make_unique<HealthMonitor>(
      *impl->database, std::move(migrations), config.health_interval,
      [health](bool serving, const std::string&) {
        health->SetServingStatus(serving);
      });
  impl->health_monitor->Start();
  if (config.purge_interval > absl::ZeroDuration()) {
    store::ExerciseCacheStore* cache = impl->exercise_cache.get();
    impl->purge =
        std::make_unique<PeriodicTask>(config.purge_interval, [cache] {
          db::CallContext call;
          call.holder = "periodic cache purge";
          absl::StatusOr<store::PurgeResult> purged =
              cache->PurgeExpired(call, 0);
          auto log = observability::Logger("purge");
          if (!purged.ok()) {
            log->warn("purging expired exercises failed: {}",
                      purged.status().ToString());
          } else if (purged->deleted > 0) {
            log->info("purged {} expired exercises in {} batches",
                      purged->deleted, purged->batches);
          }
        });
    impl->purge->Start();
  }
  if (config.bulk_sweep_interval > absl::ZeroDuration()) {
    store::BulkLoadStore* loads = impl->bulk_loads.get();
    impl->bulk_sweep = std::make_unique<PeriodicTask>(
        config.bulk_sweep_interval,
        [loads, idle = config.bulk_abandoned_after] {
          db::CallContext call;
          call.holder = "periodic bulk-load sweep";
          absl::StatusOr<store::BulkLoadStore::SweepResult> swept =
              loads->SweepAbandoned(call, idle);
          auto log = observability::Logger("bulk");
          if (!swept.ok()) {
            log->warn("sweeping abandoned bulk loads failed: {}",
                      swept.status().ToString());
          } else if (swept->jobs_abandoned + swept->stages_dropped > 0) {
            log->info("abandoned bulk loads: {} jobs failed, {} stages dropped",
                      swept->jobs_abandoned, swept->stages_dropped);
          }
        });
    impl->bulk_sweep->Start();
  }
  observability::Logger("server")->info("listening on {} (port {})",
                                        config.listen_address, impl->port);
  return std::unique_ptr<AvesServer>(new AvesServer(std::move(impl)));
}

int AvesServer::port() const { return impl_->port; }

void AvesServer::Shutdown() {
  {
    absl::MutexLock lock(&impl_->shutdown_mutex);
    if (impl_->shut_down) return;
    impl_->shut_down = true;
  }
  auto log = observability::Logger("server");
  log->info("shutting down (grace {} ms)",
            absl::ToInt64Milliseconds(impl_->config.shutdown_grace));
  // Stop the monitor first so it cannot flip health back to SERVING.
  impl_->health_monitor->Stop();
  if (impl_->purge) impl_->purge->Stop();
  if (impl_->bulk_sweep) impl_->bulk_sweep->Stop();
  impl_->server->GetHealthCheckService()->SetServingStatus(false);
  // Watch streams never end by themselves: end them (UNAVAILABLE, "server
  // shutting down") so the grace period is left to unary calls.
  impl_->job_feed->Stop();
  impl_->server->Shutdown(
      absl::ToChronoTime(absl::Now() + impl_->config.shutdown_grace));
  log->info("stopped");
}

void AvesServer::Wait() { impl_->server->Wait(); }

}  // namespace aves::app
