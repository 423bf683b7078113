// avesd: wiring only. config -> logging -> migrate (optional) -> serve.
//   avesd serve [--migrate]     serve gRPC until SIGINT/SIGTERM
//   avesd migrate [--status]    apply pending migrations, or list their state
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <absl/flags/flag.h>
#include <absl/flags/parse.h>
#include <absl/flags/usage.h>
#include <absl/strings/str_cat.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>

#include "server/app/server.h"
#include "server/config/config.h"
#include "server/db/migrator.h"
#include "server/observability/logging.h"

ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL URI or conninfo (overrides DATABASE_URL)");
ABSL_FLAG(std::string, listen, "",
          "host:port to serve on (overrides AVES_LISTEN)");
ABSL_FLAG(std::string, log_level, "",
          "trace|debug|info|warn|error (overrides AVES_LOG_LEVEL)");
ABSL_FLAG(bool, migrate, false,
          "serve: apply pending migrations before serving");
ABSL_FLAG(bool, status, false,
          "migrate: list applied and pending migrations, change nothing");
ABSL_FLAG(std::string, port_file, "",
          "serve: write the bound port to this file once listening");
// The pool's settings; each overrides its environment variable (README).
ABSL_FLAG(std::string, db_pool_max, "", "overrides DB_POOL_MAX");
ABSL_FLAG(std::string, db_pool_min, "", "overrides DB_POOL_MIN");
ABSL_FLAG(std::string, db_statement_timeout, "",
          "overrides DB_STATEMENT_TIMEOUT (ms)");
ABSL_FLAG(std::string, db_query_timeout, "", "overrides DB_QUERY_TIMEOUT (ms)");
ABSL_FLAG(std::string, db_debug, "", "overrides DB_DEBUG (true/false)");
ABSL_FLAG(std::string, db_acquire_timeout, "",
          "overrides DB_ACQUIRE_TIMEOUT (ms)");
ABSL_FLAG(std::string, db_max_waiters, "", "overrides DB_MAX_WAITERS");
ABSL_FLAG(std::string, db_idle_timeout, "", "overrides DB_IDLE_TIMEOUT (ms)");
ABSL_FLAG(std::string, db_max_lifetime, "", "overrides DB_MAX_LIFETIME (ms)");
ABSL_FLAG(std::string, db_connect_timeout, "",
          "overrides DB_CONNECT_TIMEOUT (ms)");
ABSL_FLAG(std::string, db_error_rate_warn, "",
          "overrides DB_ERROR_RATE_WARN (errors/minute)");
ABSL_FLAG(std::string, db_lease_warn, "", "overrides DB_LEASE_WARN (ms)");

namespace {

constexpr char kUsage[] =
    "aves-data server.\n"
    "  avesd serve [--migrate] [--listen=host:port] [--port_file=F]\n"
    "  avesd migrate [--status]\n"
    "Settings come from the environment (README.md lists them); flags "
    "override.";

int Fail(const absl::Status& status) {
  aves::observability::Logger("avesd")->error("{}", status.ToString());
  return 1;
}

int PrintMigrationStatus(const aves::db::Migrator& migrator) {
  absl::StatusOr<aves::db::SchemaStatus> status = migrator.Status();
  if (!status.ok()) return Fail(status.status());
  std::printf("%-8s %-32s %-9s %-25s %s\n", "VERSION", "NAME", "STATE",
              "APPLIED AT", "MS");
  for (const aves::db::MigrationState& state : status->migrations) {
    const char* label = !state.applied.has_value()  ? "pending"
                        : state.checksum_mismatch() ? "CHANGED"
                                                    : "applied";
    std::string applied_at =
        state.applied
            ? absl::FormatTime("%Y-%m-%d %H:%M:%S%Ez",
                               state.applied->applied_at, absl::LocalTimeZone())
            : "-";
    std::string ms =
        state.applied ? std::to_string(state.applied->duration_ms) : "-";
    std::printf("%-8d %-32s %-9s %-25s %s\n", state.file.version,
                state.file.name.c_str(), label, applied_at.c_str(), ms.c_str());
  }
  for (const aves::db::AppliedMigration& unknown : status->unknown_applied) {
    std::printf("%-8d %-32s %-9s\n", unknown.version, unknown.name.c_str(),
                "unknown");
  }
  std::printf("schema %s\n", status->current() ? "current" : "NOT current");
  return status->current() ? 0 : 3;
}

// Blocks SIGINT and SIGTERM in the calling thread and so in every thread it
// starts later; Serve takes them with sigwait.
sigset_t BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int Serve(const aves::config::Config& config,
          std::vector<aves::db::MigrationFile> migrations, sigset_t signals) {
  const aves::db::PoolOptions& pool = config.pool;
  aves::observability::Logger("config")->info(
      "pool: max {}, min {}, statement timeout {} ms (server), query timeout "
      "{} ms (client), "
      "acquire timeout {} ms, max waiters {}, idle timeout {} ms, max lifetime "
      "{} ms, "
      "connect timeout {} ms, error-rate warning {}/min, lease warning {} ms, "
      "debug {}",
      pool.max_connections, pool.min_connections,
      absl::ToInt64Milliseconds(pool.statement_timeout),
      absl::ToInt64Milliseconds(pool.query_timeout),
      absl::ToInt64Milliseconds(pool.acquire_timeout), pool.max_waiters,
      absl::ToInt64Milliseconds(pool.idle_timeout),
      absl::ToInt64Milliseconds(pool.max_lifetime),
      absl::ToInt64Milliseconds(pool.connect_timeout), pool.error_rate_warn,
      absl::ToInt64Milliseconds(pool.lease_warn), pool.debug);
  auto server = aves::app::AvesServer::Start(config, std::move(migrations));
  if (!server.ok()) return Fail(server.status());
  if (const std::string port_file = absl::GetFlag(FLAGS_port_file);
      !port_file.empty()) {
    const std::string temporary = port_file + ".tmp";
    std::ofstream(temporary) << (*server)->port() << "\n";
    std::rename(temporary.c_str(), port_file.c_str());
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  aves::observability::Logger("avesd")->info("received signal {}",
                                             signal_number);
  (*server)->Shutdown();
  (*server)->Wait();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread starts (logging's included), so that every
  // thread inherits the mask: a shutdown signal that arrives while `serve`
  // is migrating or starting waits for Serve's sigwait.
  const sigset_t signals = BlockShutdownSignals();
  absl::SetProgramUsageMessage(kUsage);
  // Debian's abseil checks every Mutex acquisition for lock-order cycles
  // (a debug aid): perf showed it at ~2-3% of avesd's CPU under load, inside
  // gRPC's own locks. Our lock orders are covered by the TSan tests instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() != 2) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  const std::string command = positional[1];

  const std::pair<const char*, std::string> flag_values[] = {
      {"DATABASE_URL", absl::GetFlag(FLAGS_database_url)},
      {"AVES_LISTEN", absl::GetFlag(FLAGS_listen)},
      {"AVES_LOG_LEVEL", absl::GetFlag(FLAGS_log_level)},
      {"DB_POOL_MAX", absl::GetFlag(FLAGS_db_pool_max)},
      {"DB_POOL_MIN", absl::GetFlag(FLAGS_db_pool_min)},
      {"DB_STATEMENT_TIMEOUT", absl::GetFlag(FLAGS_db_statement_timeout)},
      {"DB_QUERY_TIMEOUT", absl::GetFlag(FLAGS_db_query_timeout)},
      {"DB_DEBUG", absl::GetFlag(FLAGS_db_debug)},
      {"DB_ACQUIRE_TIMEOUT", absl::GetFlag(FLAGS_db_acquire_timeout)},
      {"DB_MAX_WAITERS", absl::GetFlag(FLAGS_db_max_waiters)},
      {"DB_IDLE_TIMEOUT", absl::GetFlag(FLAGS_db_idle_timeout)},
      {"DB_MAX_LIFETIME", absl::GetFlag(FLAGS_db_max_lifetime)},
      {"DB_CONNECT_TIMEOUT", absl::GetFlag(FLAGS_db_connect_timeout)},
      {"DB_ERROR_RATE_WARN", absl::GetFlag(FLAGS_db_error_rate_warn)},
      {"DB_LEASE_WARN", absl::GetFlag(FLAGS_db_lease_warn)},
  };
  std::map<std::string, std::string> overrides;
  for (const auto& [name, value] : flag_values) {
    if (!value.empty()) overrides[name] = value;
  }
  absl::StatusOr<aves::config::Config> config =
      aves::config::LoadConfig(aves::config::OverlayLookup(
          std::move(overrides), aves::config::EnvironmentLookup()));
  if (!config.ok()) return Fail(config.status());
  if (absl::Status logging =
          aves::observability::InitLogging(config->log_level);
      !logging.ok()) {
    return Fail(logging);
  }
  for (const std::string& note : config->notes) {
    aves::observability::Logger("config")->warn("{}", note);
  }

  absl::StatusOr<std::vector<aves::db::MigrationFile>> migrations =
      aves::db::BuiltInMigrations();
  if (!migrations.ok()) return Fail(migrations.status());
  const aves::db::Migrator migrator(config->database_url, *migrations);

  if (command != "serve") {
    // A one-shot command stops at once on Ctrl-C (an open migration rolls
    // back with its transaction).
    pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
  }
  if (command == "migrate") {
    if (absl::GetFlag(FLAGS_status)) return PrintMigrationStatus(migrator);
    absl::StatusOr<std::vector<int>> applied = migrator.Migrate();
    if (!applied.ok()) return Fail(applied.status());
    std::printf("applied %zu migration(s)\n", applied->size());
    return 0;
  }
  if (command == "serve") {
    if (absl::GetFlag(FLAGS_migrate)) {
      absl::StatusOr<std::vector<int>> applied = migrator.Migrate();
      if (!applied.ok()) return Fail(applied.status());
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)) {
        aves::observability::Logger("avesd")->info(
            "shutdown signal received while migrating; not serving");
        return 0;
      }
    }
    return Serve(*config, *std::move(migrations), signals);
  }
  std::cerr << "unknown command '" << command << "'\n" << kUsage << "\n";
  return 2;
}
