#include "tests/support/in_process_server.h"

#include <absl/strings/str_cat.h>

#include "client/lib/channel.h"
#include "client/lib/health_client.h"
#include "server/db/migration_file.h"

namespace aves::testing {

absl::StatusOr<std::unique_ptr<InProcessServer>> InProcessServer::Start(
    const std::string& database_url,
    const std::function<void(config::Config&)>& adjust,
    const client::ChannelSecurity& security) {
  absl::StatusOr<config::Config> config =
      config::LoadConfig([](const std::string&) -> std::optional<std::string> {
        return std::nullopt;
      });
  if (!config.ok()) return config.status();
  config->database_url = database_url;
  config->listen_address = "127.0.0.1:0";
  config->http_listen = "127.0.0.1:0";
  config->health_interval = absl::Milliseconds(100);
  config->shutdown_grace = absl::Seconds(2);
  config->purge_interval = absl::ZeroDuration();
  // As in AvesdProcess: no maintenance jobs unless a test asks for them.
  config->analyze_check_interval = absl::ZeroDuration();
  config->pool.min_connections = 2;
  config->pool.max_connections = 8;
  if (adjust) adjust(*config);
  absl::StatusOr<std::vector<db::MigrationFile>> migrations =
      db::BuiltInMigrations();
  if (!migrations.ok()) return migrations.status();
  absl::StatusOr<std::unique_ptr<app::AvesServer>> server =
      app::AvesServer::Start(*config, *std::move(migrations));
  if (!server.ok()) return server.status();
  auto running = std::unique_ptr<InProcessServer>(new InProcessServer());
  running->server_ = *std::move(server);
  running->channel_ = client::MakeChannel(running->address(), security);
  // Bounded wait for SERVING: the health monitor's first checks.
  client::HealthClient health(running->channel_,
                              client::CallOptions{absl::Seconds(2)});
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (true) {
    absl::StatusOr<client::ServingStatus> status = health.Check("");
    if (status.ok() && *status == client::ServingStatus::kServing) break;
    if (absl::Now() > give_up) {
      return absl::DeadlineExceededError(
          "the in-process server never reported SERVING");
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return running;
}

std::string InProcessServer::address() const {
  return absl::StrCat("127.0.0.1:", server_->port());
}

std::string InProcessServer::http_address() const {
  const int port = server_->http_port();
  return port == 0 ? "" : absl::StrCat("127.0.0.1:", port);
}

}  // namespace aves::testing
