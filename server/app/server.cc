#include "server/app/server.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <utility>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <absl/synchronization/mutex.h>
#include <google/protobuf/stubs/logging.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include "server/app/authentication.h"
#include "server/app/background_tasks.h"
#include "server/app/dashboard_api.h"
#include "server/app/health_monitor.h"
#include "server/app/http_endpoint.h"
#include "server/app/periodic_task.h"
#include "server/app/service_metrics.h"
#include "server/app/services.h"
#include "server/app/sizing.h"
#include "server/app/tls.h"
#include "server/bulk/bulk_metrics.h"
#include "server/bulk/load_store.h"
#include "server/common/executor.h"
#include "server/db/database.h"
#include "server/handlers/authorization.h"
#include "server/handlers/reflection_gate.h"
#include "server/handlers/rpc_history.h"
#include "server/handlers/rpc_metrics.h"
#include "server/observability/logging.h"
#include "server/observability/metrics.h"
#include "server/observability/process_metrics.h"
#include "server/store/cache_invalidation_feed.h"
#include "server/store/job_feed.h"
#include "server/store/lookup_cache.h"

namespace aves::app {

// Destroyed in reverse: the health monitor, then the executors (their queued
// work may still finish calls, so the server must stand), the server, the
// background tasks, and the services last (calls reach them until the
// server is gone). Built in another order (Start).
struct AvesServer::Impl {
  config::Config config;
  // Before the services and the server: collectors and interceptors read
  // them until both are gone.
  std::unique_ptr<observability::MetricsRegistry> metrics;
  std::unique_ptr<handlers::RpcMetrics> rpc_metrics;
  std::unique_ptr<handlers::RpcHistory> rpc_history;
  std::unique_ptr<PeriodicTask> rpc_sampler;  // stopped before the history
  std::unique_ptr<Services> services;
  std::unique_ptr<BackgroundTasks> background;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<common::Executor> executor;
  std::unique_ptr<common::Executor> bulk_executor;
  std::unique_ptr<HealthMonitor> health_monitor;
  int port = 0;
  absl::Mutex shutdown_mutex;
  bool shut_down ABSL_GUARDED_BY(shutdown_mutex) = false;
  // The dashboard's calls go through the server's own channel.
  std::unique_ptr<DashboardApi> dashboard;
  // Last: stopped and destroyed first, while what it reads still exists.
  std::unique_ptr<HttpEndpoint> http;
};

namespace {

// libprotobuf writes one ERROR line to stderr per request it refuses (e.g.
// invalid UTF-8 in a string field): any client could flood the log. Its
// lines go to our logger at debug instead; the caller gets INVALID_ARGUMENT
// (handlers/unparsable_request.h) and the access log has the call.
void RouteProtobufLogs() {
  static std::once_flag once;
  std::call_once(once, [] {
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel level,
                                       const char* file, int line,
                                       const std::string& message) {
      auto log = observability::Logger("protobuf");
      if (level == google::protobuf::LOGLEVEL_FATAL) {
        log->critical("{}:{}: {}", file, line, message);
      } else {
        log->debug("{}:{}: {}", file, line, message);
      }
    });
  });
}

// Server reflection on or off for this server. Linking gRPC's reflection
// plugin registers it for every builder of the process (a static
// initialiser), so "off" must take it out of the builder's plugins. Who may
// use it when it is on is the reflection gate's business (handlers/
// reflection_gate.h).
class ReflectionSwitch final : public grpc::ServerBuilderOption {
 public:
  explicit ReflectionSwitch(bool on) : on_(on) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    const std::string reflection =
        grpc::reflection::ProtoServerReflectionPlugin().name();
    const auto is_reflection = [&reflection](const auto& plugin) {
      return plugin->name() == reflection;
    };
    plugins->erase(
        std::remove_if(plugins->begin(), plugins->end(), is_reflection),
        plugins->end());
    if (on_) {
      plugins->push_back(
          std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>());
    }
  }

 private:
  bool on_;
};

// Binds the listener with the limits and keepalive every connection gets,
// and registers `services` beside health and reflection.
std::unique_ptr<grpc::Server> BuildGrpcServer(
    const config::Config& config,
    std::shared_ptr<grpc::ServerCredentials> credentials,
    const std::vector<grpc::Service*>& services,
    const handlers::CallAuthorizer* authorizer,
    handlers::RpcMetrics* rpc_metrics, int* port) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<ReflectionSwitch>(
      config.reflection != config::Config::Reflection::kOff));
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  // First, so that it times every call from its arrival.
  interceptors.push_back(rpc_metrics->InterceptorFactory());
  if (config.reflection == config::Config::Reflection::kAdmin) {
    interceptors.push_back(handlers::AdminOnlyReflection(authorizer));
  }
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.AddListeningPort(config.listen_address, std::move(credentials), port);
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
  // gRPC's own bounds (config.h says what each is).
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             config.grpc_max_streams_per_connection);
  builder.AddChannelArgument(
      GRPC_ARG_MAX_CONNECTION_IDLE_MS,
      static_cast<int>(absl::ToInt64Milliseconds(config.grpc_connection_idle)));
  grpc::ResourceQuota quota("avesd");
  quota.Resize(static_cast<size_t>(config.grpc_memory_bytes));
  builder.SetResourceQuota(quota);
  for (grpc::Service* service : services) builder.RegisterService(service);
  return builder.BuildAndStart();
}

// Every collector of /metrics, in the order a scrape lists them.
void RegisterMetrics(observability::MetricsRegistry& registry,
                     const handlers::RpcMetrics& rpc,
                     const HealthMonitor& health, db::Database& database,
                     Services& services) {
  observability::AddBuildInfo(registry,
                              {AVES_VERSION, AVES_GIT_COMMIT, grpc::Version()});
  observability::AddProcessMetrics(registry);
  AddHealthMetrics(
      registry, [&health] { return health.serving(); },
      [&health] { return health.schema_current(); });
  registry.Add([&rpc](observability::Exposition& out) { rpc.Collect(out); });
  AddPoolMetrics(registry, database.pool());
  registry.Add([&queries = database.query_metrics()](
                   observability::Exposition& out) { queries.Collect(out); });
  AddWatchMetrics(registry, services);
  AddCacheMetrics(registry, services);
  registry.Add([&bulk = services.bulk_metrics()](
                   observability::Exposition& out) { bulk.Collect(out); });
}

}  // namespace

AvesServer::AvesServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AvesServer::~AvesServer() {
  Shutdown();
  Wait();
}

absl::StatusOr<std::unique_ptr<AvesServer>> AvesServer::Start(
    const config::Config& config, std::vector<db::MigrationFile> migrations) {
  RouteProtobufLogs();
  // Secure by default: a listener other machines reach needs TLS or
  // authentication, unless the operator says otherwise.
  if (config.serves_anyone_remotely() && !config.insecure) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AVES_LISTEN: ", config.listen_address,
        " is reachable from other machines, and neither TLS "
        "(AVES_TLS_CERT_FILE) nor authentication (AVES_AUTH_JWT_KEY_FILE, "
        "AVES_AUTH_CERT_ROLES) is configured: configure them, or set "
        "AVES_INSECURE=1 to serve anyone who can reach it"));
  }
  if (config.http_serves_anyone_remotely() && !config.insecure) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AVES_HTTP_LISTEN: ", config.http_listen,
        " is reachable from other machines, and neither TLS nor "
        "authentication is configured: configure them, listen on loopback, "
        "turn it off with AVES_HTTP_LISTEN= or set AVES_INSECURE=1"));
  }
  // First: a TLS mistake stops avesd before it opens a pool.
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      ListenerCredentials(config);
  if (!credentials.ok()) return credentials.status();
  absl::StatusOr<std::unique_ptr<auth::Authenticator>> authenticator =
      BuildAuthenticator(config);
  if (!authenticator.ok()) return authenticator.status();
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  const Sizes sizes = SizesFor(config);
  impl->executor = std::make_unique<common::Executor>(sizes.executor_threads,
                                                      sizes.executor_queue);
  impl->bulk_executor = std::make_unique<common::Executor>(
      sizes.bulk_threads, sizes.bulk_queue, sizes.bulk_nice);
  impl->metrics = std::make_unique<observability::MetricsRegistry>();
  impl->rpc_metrics =
      std::make_unique<handlers::RpcMetrics>(Services::grpc_service_names());
  // 15 minutes of samples, at most 900 of them.
  const int rpc_samples = static_cast<int>(
      std::min<int64_t>(900, absl::Minutes(15) / config.rpc_stats_interval));
  impl->rpc_history = std::make_unique<handlers::RpcHistory>(
      *impl->rpc_metrics, config.rpc_stats_interval, rpc_samples);
  impl->rpc_history->Sample(absl::Now());
  impl->rpc_sampler = std::make_unique<PeriodicTask>(
      config.rpc_stats_interval,
      [history = impl->rpc_history.get()] { history->Sample(absl::Now()); });
  impl->rpc_sampler->Start();
  impl->services =
      Services::Build(config, migrations, *impl->executor, *impl->bulk_executor,
                      *std::move(authenticator), *impl->rpc_history);
  impl->server = BuildGrpcServer(
      config, *std::move(credentials), impl->services->grpc_services(),
      &impl->services->authorizer(), impl->rpc_metrics.get(), &impl->port);
  if (impl->server == nullptr || impl->port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen_address));
  }
  grpc::HealthCheckServiceInterface* health =
      impl->server->GetHealthCheckService();
  // NOT_SERVING until the monitor's first check says otherwise. Each
  // service's name is registered too (else a check naming it is NOT_FOUND);
  // SetServingStatus(bool) then flips all of them with the overall one: every
  // service depends on the same database and schema.
  for (const std::string& name : Services::grpc_service_names()) {
    health->SetServingStatus(name, false);
  }
  health->SetServingStatus(false);
  db::Database& database = impl->services->database();
  database.pool().WaitUntilReady(config.pool.connect_timeout);
  impl->services->job_feed().WaitUntilListening(config.pool.connect_timeout);
  // Until it listens the lookup cache is bypassed (correct, only slower).
  if (impl->services->lookup_cache().enabled()) {
    impl->services->cache_feed().WaitUntilListening(
        config.pool.connect_timeout);
  }
  // The bulk-load catalog is read now when the database is up (a failure is
  // retried on the first load, so avesd may start before its database).
  if (absl::Status catalog = impl->services->bulk_loads().Catalog().status();
      !catalog.ok()) {
    observability::Logger("bulk")->warn(
        "bulk-load catalog not read at start-up (retried on first use): {}",
        catalog.ToString());
  }
  impl->health_monitor = std::make_unique<HealthMonitor>(
      database, std::move(migrations), config.health_interval,
      [health](bool serving, const std::string&) {
        health->SetServingStatus(serving);
      });
  impl->health_monitor->Start();
  impl->background = std::make_unique<BackgroundTasks>(
      config, impl->services->exercise_cache(), impl->services->bulk_loads(),
      impl->services->query_stats(), impl->services->maintenance(),
      [services = impl->services.get()] { services->EndIdleStreams(); });
  RegisterMetrics(*impl->metrics, *impl->rpc_metrics, *impl->health_monitor,
                  database, *impl->services);
  if (!config.http_listen.empty()) {
    HttpEndpoint::Options http;
    http.listen = config.http_listen;
    http.tls_cert_file = config.tls_cert_file;
    http.tls_key_file = config.tls_key_file;
    http.tls_reload_interval = config.tls_reload_interval;
    http.authenticator = impl->services->authenticator();
    http.ready = [monitor = impl->health_monitor.get()] {
      return monitor->serving();
    };
    http.metrics = impl->metrics.get();
    impl->dashboard = std::make_unique<DashboardApi>(
        impl->server->InProcessChannel(grpc::ChannelArguments()));
    http.dashboard = impl->dashboard.get();
    absl::StatusOr<std::unique_ptr<HttpEndpoint>> endpoint =
        HttpEndpoint::Start(std::move(http));
    if (!endpoint.ok()) return endpoint.status();
    impl->http = *std::move(endpoint);
  }
  observability::Logger("server")->info("listening on {} (port {})",
                                        config.listen_address, impl->port);
  return std::unique_ptr<AvesServer>(new AvesServer(std::move(impl)));
}

int AvesServer::port() const { return impl_->port; }

int AvesServer::http_port() const {
  return impl_->http == nullptr ? 0 : impl_->http->port();
}

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
  impl_->background->Stop();
  impl_->server->GetHealthCheckService()->SetServingStatus(false);
  // Watch streams never end by themselves: end them (UNAVAILABLE, "server
  // shutting down") so the grace period is left to unary calls.
  impl_->services->job_feed().Stop();
  impl_->server->Shutdown(
      absl::ToChronoTime(absl::Now() + impl_->config.shutdown_grace));
  if (impl_->http != nullptr) impl_->http->Stop();
  log->info("stopped");
}

void AvesServer::Wait() { impl_->server->Wait(); }

}  // namespace aves::app
