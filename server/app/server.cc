#include "server/app/server.h"

#include <utility>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "server/app/health_monitor.h"
#include "server/app/periodic_task.h"
#include "server/common/executor.h"
#include "server/db/database.h"
#include "server/handlers/admin_service.h"
#include "server/handlers/exercise_cache_service.h"
#include "server/observability/logging.h"
#include "server/store/exercise_cache_store.h"

namespace aves::app {

struct AvesServer::Impl {
  config::Config config;
  std::unique_ptr<db::Database> database;
  std::unique_ptr<store::ExerciseCacheStore> exercise_cache;
  std::unique_ptr<handlers::AdminServiceImpl> admin_service;
  std::unique_ptr<handlers::ExerciseCacheServiceImpl> exercise_cache_service;
  std::unique_ptr<PeriodicTask> purge;
  std::unique_ptr<grpc::Server> server;
  // Declared after `server`, so it is destroyed first: by then Shutdown has
  // waited for every call, and the queued work it finishes is done.
  std::unique_ptr<common::Executor> executor;
  std::unique_ptr<HealthMonitor> health_monitor;
  int port = 0;
  absl::Mutex shutdown_mutex;
  bool shut_down ABSL_GUARDED_BY(shutdown_mutex) = false;
};

AvesServer::AvesServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AvesServer::~AvesServer() {
  Shutdown();
  Wait();
}

absl::StatusOr<std::unique_ptr<AvesServer>> AvesServer::Start(
    const config::Config& config, std::vector<db::MigrationFile> migrations) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->database = std::make_unique<db::Database>(
      config.database_url, config.pool,
      store::ExerciseCacheStore::PreparedStatements());
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
          *impl->exercise_cache, *impl->executor, config.slow_rpc);

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
  impl->database->pool().WaitUntilReady(config.pool.connect_timeout);
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
  impl_->server->GetHealthCheckService()->SetServingStatus(false);
  impl_->server->Shutdown(
      absl::ToChronoTime(absl::Now() + impl_->config.shutdown_grace));
  log->info("stopped");
}

void AvesServer::Wait() { impl_->server->Wait(); }

}  // namespace aves::app
