// avesd: wiring only. config -> logging -> migrate (optional) -> serve.
//   avesd serve [--migrate]     serve gRPC until SIGINT/SIGTERM
//   avesd migrate [--status]    apply pending migrations, or list their state
//   avesd policy                print which roles may call each RPC
//   avesd token --subject=S --role=R [--ttl=1h] [--signing_key_file=F]
//                               sign a bearer token with the configured key
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <absl/flags/flag.h>
#include <absl/flags/parse.h>
#include <absl/flags/usage.h>
#include <absl/strings/str_cat.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/clock.h>
#include <absl/time/time.h>

#include "server/app/authentication.h"
#include "server/app/server.h"
#include "server/auth/policy.h"
#include "server/auth/rate_limits.h"
#include "server/auth/token_verifier.h"
#include "server/config/config.h"
#include "server/db/migrator.h"
#include "server/observability/logging.h"

ABSL_FLAG(bool, migrate, false,
          "serve: apply pending migrations before serving");
ABSL_FLAG(bool, status, false,
          "migrate: list applied and pending migrations, change nothing");
ABSL_FLAG(std::string, http_port_file, "",
          "serve: write the HTTP listener's bound port to this file");
ABSL_FLAG(std::string, port_file, "",
          "serve: write the bound port to this file once listening");
ABSL_FLAG(std::string, subject, "", "token: the caller it names (sub)");
ABSL_FLAG(std::string, role, "", "token: its roles, e.g. loader+dashboard");
ABSL_FLAG(absl::Duration, ttl, absl::Hours(1), "token: how long it is valid");
ABSL_FLAG(std::string, signing_key_file, "",
          "token: the PEM private key (RS256/ES256); HS256 signs with "
          "AVES_AUTH_JWT_KEY_FILE");

// The settings a flag may override, each once: the flag, the environment
// variable it overrides (README lists them all) and its help.
#define AVES_SETTING_FLAGS(X)                                          \
  X(database_url, "DATABASE_URL", "PostgreSQL URI or conninfo")        \
  X(listen, "AVES_LISTEN", "host:port to serve on")                    \
  X(log_level, "AVES_LOG_LEVEL", "trace|debug|info|warn|error")        \
  X(db_pool_max, "DB_POOL_MAX", "most connections")                    \
  X(db_pool_min, "DB_POOL_MIN", "connections kept open")               \
  X(db_statement_timeout, "DB_STATEMENT_TIMEOUT", "ms, server side")   \
  X(db_query_timeout, "DB_QUERY_TIMEOUT", "ms, client side")           \
  X(db_debug, "DB_DEBUG", "true/false: log every acquire and release") \
  X(db_acquire_timeout, "DB_ACQUIRE_TIMEOUT", "ms")                    \
  X(db_max_waiters, "DB_MAX_WAITERS", "callers allowed to queue")      \
  X(db_idle_timeout, "DB_IDLE_TIMEOUT", "ms")                          \
  X(db_max_lifetime, "DB_MAX_LIFETIME", "ms")                          \
  X(db_connect_timeout, "DB_CONNECT_TIMEOUT", "ms")                    \
  X(db_error_rate_warn, "DB_ERROR_RATE_WARN", "errors/minute")         \
  X(db_lease_warn, "DB_LEASE_WARN", "ms")

#define AVES_DEFINE_SETTING_FLAG(flag, variable, help) \
  ABSL_FLAG(std::string, flag, "", help " (overrides " variable ")");
AVES_SETTING_FLAGS(AVES_DEFINE_SETTING_FLAG)
#undef AVES_DEFINE_SETTING_FLAG

namespace {

constexpr char kUsage[] =
    "aves-data server.\n"
    "  avesd serve [--migrate] [--listen=host:port] [--port_file=F]\n"
    "              [--http_port_file=F]\n"
    "  avesd migrate [--status]\n"
    "  avesd policy\n"
    "  avesd token --subject=S --role=R [--ttl=1h] [--signing_key_file=F]\n"
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

// `avesd token`: a token the configured verifier accepts, on stdout.
int PrintToken(const aves::config::Config& config) {
  if (config.auth_jwt_key_file.empty()) {
    return Fail(absl::FailedPreconditionError(
        "token: set AVES_AUTH_JWT_KEY_FILE (the key avesd verifies with)"));
  }
  const std::string subject = absl::GetFlag(FLAGS_subject);
  absl::StatusOr<aves::auth::RoleSet> roles =
      aves::auth::ParseRoles(absl::GetFlag(FLAGS_role));
  if (subject.empty() || !roles.ok()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat(
        "token needs --subject and --role",
        roles.ok() ? "" : absl::StrCat(": ", roles.status().message()))));
  }
  std::string signing_key;
  if (config.auth_jwt_algorithm == aves::auth::Algorithm::kHs256) {
    absl::StatusOr<std::string> key = aves::app::ReadTokenKey(config);
    if (!key.ok()) return Fail(key.status());
    signing_key = *std::move(key);
  } else {
    std::ifstream in(absl::GetFlag(FLAGS_signing_key_file), std::ios::binary);
    if (!in.is_open()) {
      return Fail(absl::InvalidArgumentError(absl::StrCat(
          "token: ", aves::auth::AlgorithmName(config.auth_jwt_algorithm),
          " signs with a private key: pass --signing_key_file")));
    }
    signing_key.assign(std::istreambuf_iterator<char>(in), {});
  }
  aves::auth::TokenClaims claims;
  claims.subject = subject;
  for (aves::auth::Role role : aves::auth::AllRoles()) {
    if (roles->Has(role)) claims.roles.emplace_back(aves::auth::RoleName(role));
  }
  claims.issued_at = absl::Now();
  claims.expires = claims.issued_at + absl::GetFlag(FLAGS_ttl);
  claims.issuer = config.auth_issuer;
  claims.audience = config.auth_audience;
  absl::StatusOr<std::string> token =
      aves::auth::MintToken(config.auth_jwt_algorithm, signing_key, claims);
  if (!token.ok()) return Fail(token.status());
  std::printf("%s\n", token->c_str());
  return 0;
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
  // Written whole, then renamed: a reader never sees half a number.
  auto write_port = [](const std::string& file, int port) {
    if (file.empty()) return;
    const std::string temporary = file + ".tmp";
    std::ofstream(temporary) << port << "\n";
    std::rename(temporary.c_str(), file.c_str());
  };
  write_port(absl::GetFlag(FLAGS_http_port_file), (*server)->http_port());
  write_port(absl::GetFlag(FLAGS_port_file), (*server)->port());
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
  if (command == "policy") {
    // The rate limits as this environment would configure them; nothing
    // else of the configuration is needed (no database).
    const char* rate_setting = std::getenv("AVES_RATE_LIMITS");
    absl::StatusOr<aves::auth::RateLimitTable> rate_limits =
        aves::auth::ParseRateLimits(rate_setting == nullptr ? ""
                                                            : rate_setting);
    if (!rate_limits.ok()) {
      std::cerr << "avesd: " << rate_limits.status().message() << "\n";
      return 2;
    }
    std::printf("%s\nrate limits (AVES_RATE_LIMITS):\n%s",
                aves::auth::FormatPolicy().c_str(),
                aves::auth::FormatRateLimits(*rate_limits).c_str());
    return 0;
  }

  std::map<std::string, std::string> overrides;
#define AVES_ADD_OVERRIDE(flag, variable, help)                        \
  if (std::string value = absl::GetFlag(FLAGS_##flag); !value.empty()) \
    overrides[variable] = std::move(value);
  AVES_SETTING_FLAGS(AVES_ADD_OVERRIDE)
#undef AVES_ADD_OVERRIDE
  absl::StatusOr<aves::config::Config> config =
      aves::config::LoadConfig(aves::config::OverlayLookup(
          std::move(overrides), aves::config::EnvironmentLookup()));
  if (!config.ok()) return Fail(config.status());
  if (absl::Status logging =
          aves::observability::InitLogging(config->log_level);
      !logging.ok()) {
    return Fail(logging);
  }
  if (command == "token") return PrintToken(*config);
  for (const std::string& note : config->notes) {
    aves::observability::Logger("config")->info("{}", note);
  }
  if (!absl::GetFlag(FLAGS_database_url).empty()) {
    config->warnings.push_back(
        "--database_url is visible to every user of this machine (ps, "
        "/proc/*/cmdline); prefer DATABASE_URL or DATABASE_URL_FILE");
  }
  for (const std::string& warning : config->warnings) {
    aves::observability::Logger("config")->warn("{}", warning);
  }

  absl::StatusOr<std::vector<aves::db::MigrationFile>> migrations =
      aves::db::BuiltInMigrations();
  if (!migrations.ok()) return Fail(migrations.status());
  const aves::db::Migrator migrator(config->migration_url(), *migrations);

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
