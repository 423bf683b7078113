#include "server/config/config.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <absl/status/status.h>
#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <absl/strings/strip.h>

#include "server/common/setting_file.h"
#include "server/common/status_macros.h"

namespace aves::config {
namespace {

absl::StatusOr<int64_t> ReadInt(const SettingLookup& lookup,
                                const std::string& name, int64_t default_value,
                                int64_t min, int64_t max) {
  const std::optional<std::string> raw = lookup(name);
  if (!raw.has_value() || raw->empty()) return default_value;
  int64_t value = 0;
  if (!absl::SimpleAtoi(*raw, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": '", *raw, "' is not a whole number"));
  }
  if (value < min || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", value, " is outside [", min, ", ", max, "]"));
  }
  return value;
}

// Reads an int setting into `field`, whose current value is the default.
absl::Status ReadIntInto(const SettingLookup& lookup, const std::string& name,
                         int* field, int min, int max) {
  ASSIGN_OR_RETURN(int64_t value, ReadInt(lookup, name, *field, min, max));
  *field = static_cast<int>(value);
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ReadMillis(const SettingLookup& lookup,
                                          const std::string& name,
                                          absl::Duration default_value,
                                          int64_t min_ms, int64_t max_ms) {
  ASSIGN_OR_RETURN(int64_t ms, ReadInt(lookup, name,
                                       absl::ToInt64Milliseconds(default_value),
                                       min_ms, max_ms));
  return absl::Milliseconds(ms);
}

// A schedule: "weekly", "daily", "hourly", "off" (or "0"), or a whole number
// with a unit: ms, s, m, h or d ("12h", "30s").
absl::StatusOr<absl::Duration> ReadSchedule(const SettingLookup& lookup,
                                            const std::string& name,
                                            absl::Duration default_value) {
  const std::optional<std::string> raw = lookup(name);
  if (!raw.has_value() || raw->empty()) return default_value;
  const std::string value = absl::AsciiStrToLower(*raw);
  if (value == "off" || value == "0") return absl::ZeroDuration();
  if (value == "weekly") return absl::Hours(24 * 7);
  if (value == "daily") return absl::Hours(24);
  if (value == "hourly") return absl::Hours(1);
  static const std::pair<const char*, absl::Duration> kUnits[] = {
      {"ms", absl::Milliseconds(1)},
      {"s", absl::Seconds(1)},
      {"m", absl::Minutes(1)},
      {"h", absl::Hours(1)},
      {"d", absl::Hours(24)}};
  for (const auto& [unit, scale] : kUnits) {
    if (!absl::EndsWith(value, unit)) continue;
    int64_t count = 0;
    if (absl::SimpleAtoi(value.substr(0, value.size() - strlen(unit)),
                         &count) &&
        count > 0 && count <= 3660) {
      return count * scale;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      name, ": '", *raw,
      "' is not a schedule (weekly, daily, hourly, off, or a whole number of "
      "ms, s, m, h or d up to 3660)"));
}

absl::StatusOr<bool> ReadBool(const SettingLookup& lookup,
                              const std::string& name, bool default_value) {
  const std::optional<std::string> raw = lookup(name);
  if (!raw.has_value() || raw->empty()) return default_value;
  const std::string value = absl::AsciiStrToLower(*raw);
  if (value == "true" || value == "1" || value == "yes" || value == "on")
    return true;
  if (value == "false" || value == "0" || value == "no" || value == "off")
    return false;
  return absl::InvalidArgumentError(
      absl::StrCat(name, ": '", *raw, "' is not a boolean (true/false)"));
}

absl::StatusOr<db::PoolOptions> LoadPoolOptions(
    const SettingLookup& lookup, std::vector<std::string>& notes,
    std::vector<std::string>& warnings) {
  db::PoolOptions pool;
  constexpr int64_t kHour = 3'600'000;
  RETURN_IF_ERROR(
      ReadIntInto(lookup, "DB_POOL_MAX", &pool.max_connections, 1, 1000));
  RETURN_IF_ERROR(
      ReadIntInto(lookup, "DB_POOL_MIN", &pool.min_connections, 0, 1000));
  if (pool.min_connections > pool.max_connections) {
    return absl::InvalidArgumentError(
        absl::StrCat("DB_POOL_MIN: ", pool.min_connections,
                     " is above DB_POOL_MAX (", pool.max_connections, ")"));
  }
  ASSIGN_OR_RETURN(
      pool.statement_timeout,
      ReadMillis(lookup, "DB_STATEMENT_TIMEOUT", absl::Seconds(10), 1, kHour));
  ASSIGN_OR_RETURN(
      pool.query_timeout,
      ReadMillis(lookup, "DB_QUERY_TIMEOUT", pool.query_timeout, 1, kHour));
  if (pool.statement_timeout >= pool.query_timeout) {
    // The server must give up first, so the caller sees PostgreSQL's reason
    // rather than a bare client-side cancel.
    const absl::Duration margin =
        std::max(absl::Milliseconds(1),
                 std::min(absl::Seconds(1), pool.query_timeout / 20));
    const absl::Duration lowered = pool.query_timeout - margin;
    // Equal values (the seed's 10000 and 10000) are the documented case:
    // the margin is expected. A statement timeout above the query timeout
    // is a setting that cannot be honoured as written.
    std::vector<std::string>& log =
        pool.statement_timeout == pool.query_timeout ? notes : warnings;
    log.push_back(
        absl::StrCat("DB_STATEMENT_TIMEOUT (",
                     absl::ToInt64Milliseconds(pool.statement_timeout),
                     " ms) is not below DB_QUERY_TIMEOUT (",
                     absl::ToInt64Milliseconds(pool.query_timeout),
                     " ms): using ", absl::ToInt64Milliseconds(lowered),
                     " ms so the server aborts a slow statement first"));
    pool.statement_timeout = lowered;
  }
  ASSIGN_OR_RETURN(pool.debug, ReadBool(lookup, "DB_DEBUG", pool.debug));
  ASSIGN_OR_RETURN(
      pool.acquire_timeout,
      ReadMillis(lookup, "DB_ACQUIRE_TIMEOUT", pool.acquire_timeout, 1, kHour));
  RETURN_IF_ERROR(
      ReadIntInto(lookup, "DB_MAX_WAITERS", &pool.max_waiters, 0, 1'000'000));
  ASSIGN_OR_RETURN(
      pool.idle_timeout,
      ReadMillis(lookup, "DB_IDLE_TIMEOUT", pool.idle_timeout, 0, 24 * kHour));
  ASSIGN_OR_RETURN(pool.max_lifetime,
                   ReadMillis(lookup, "DB_MAX_LIFETIME", pool.max_lifetime, 0,
                              24 * 7 * kHour));
  if (pool.max_lifetime > absl::ZeroDuration() &&
      pool.max_lifetime < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        "DB_MAX_LIFETIME: use 0 (never) or at least 1000 ms");
  }
  ASSIGN_OR_RETURN(pool.connect_timeout,
                   ReadMillis(lookup, "DB_CONNECT_TIMEOUT",
                              pool.connect_timeout, 1, 600'000));
  RETURN_IF_ERROR(ReadIntInto(lookup, "DB_ERROR_RATE_WARN",
                              &pool.error_rate_warn, 0, 1'000'000));
  ASSIGN_OR_RETURN(pool.lease_warn, ReadMillis(lookup, "DB_LEASE_WARN",
                                               pool.lease_warn, 0, 24 * kHour));
  return pool;
}

std::string ReadString(const SettingLookup& lookup, const std::string& name,
                       std::string default_value) {
  std::optional<std::string> raw = lookup(name);
  return raw.has_value() && !raw->empty() ? *std::move(raw)
                                          : std::move(default_value);
}

}  // namespace

SettingLookup EnvironmentLookup() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

SettingLookup OverlayLookup(std::map<std::string, std::string> overrides,
                            SettingLookup fallback) {
  return [overrides = std::move(overrides), fallback = std::move(fallback)](
             const std::string& name) -> std::optional<std::string> {
    if (auto it = overrides.find(name); it != overrides.end())
      return it->second;
    return fallback(name);
  };
}

namespace {

// The listener's TLS settings, checked for what belongs together.
absl::Status ReadTls(const SettingLookup& lookup, Config* config) {
  config->tls_cert_file = ReadString(lookup, "AVES_TLS_CERT_FILE", "");
  config->tls_key_file = ReadString(lookup, "AVES_TLS_KEY_FILE", "");
  config->tls_client_ca_file =
      ReadString(lookup, "AVES_TLS_CLIENT_CA_FILE", "");
  if (config->tls_cert_file.empty() != config->tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "AVES_TLS_CERT_FILE and AVES_TLS_KEY_FILE go together: set both or "
        "neither");
  }
  const std::string client_auth =
      ReadString(lookup, "AVES_TLS_CLIENT_AUTH",
                 config->tls_client_ca_file.empty() ? "none" : "require");
  if (client_auth == "none") {
    config->tls_client_auth = Config::ClientAuth::kNone;
  } else if (client_auth == "request") {
    config->tls_client_auth = Config::ClientAuth::kRequest;
  } else if (client_auth == "require") {
    config->tls_client_auth = Config::ClientAuth::kRequire;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("AVES_TLS_CLIENT_AUTH: '", client_auth,
                     "' is not none, request or require"));
  }
  if (!config->tls_client_ca_file.empty() && !config->tls()) {
    return absl::InvalidArgumentError(
        "AVES_TLS_CLIENT_CA_FILE needs TLS: set AVES_TLS_CERT_FILE and "
        "AVES_TLS_KEY_FILE");
  }
  if (config->tls_client_auth != Config::ClientAuth::kNone &&
      config->tls_client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "AVES_TLS_CLIENT_AUTH: verifying client certificates needs "
        "AVES_TLS_CLIENT_CA_FILE");
  }
  ASSIGN_OR_RETURN(config->tls_reload_interval,
                   ReadMillis(lookup, "AVES_TLS_RELOAD_MS",
                              config->tls_reload_interval, 1'000, 86'400'000));
  return absl::OkStatus();
}

// Who may call (ARCHITECTURE.md, "Security"): tokens, certificate roles.
absl::Status ReadAuth(const SettingLookup& lookup, Config* config) {
  config->auth_jwt_key_file = ReadString(lookup, "AVES_AUTH_JWT_KEY_FILE", "");
  absl::StatusOr<auth::Algorithm> algorithm =
      auth::AlgorithmNamed(ReadString(lookup, "AVES_AUTH_JWT_ALG", "HS256"));
  if (!algorithm.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("AVES_AUTH_JWT_ALG: ", algorithm.status().message()));
  }
  config->auth_jwt_algorithm = *algorithm;
  config->auth_issuer = ReadString(lookup, "AVES_AUTH_ISSUER", "");
  config->auth_audience = ReadString(lookup, "AVES_AUTH_AUDIENCE", "");
  ASSIGN_OR_RETURN(config->auth_leeway,
                   ReadMillis(lookup, "AVES_AUTH_LEEWAY_MS",
                              config->auth_leeway, 0, 600'000));
  if (config->auth_jwt_key_file.empty() &&
      (!config->auth_issuer.empty() || !config->auth_audience.empty())) {
    return absl::InvalidArgumentError(
        "AVES_AUTH_ISSUER / AVES_AUTH_AUDIENCE check tokens: set "
        "AVES_AUTH_JWT_KEY_FILE");
  }
  const std::string mappings = ReadString(lookup, "AVES_AUTH_CERT_ROLES", "");
  for (absl::string_view mapping :
       absl::StrSplit(mappings, ',', absl::SkipWhitespace())) {
    const size_t equals = mapping.rfind('=');
    const std::string common_name(absl::StripAsciiWhitespace(
        equals == absl::string_view::npos ? "" : mapping.substr(0, equals)));
    if (common_name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("AVES_AUTH_CERT_ROLES: '", mapping,
                       "' is not common-name=role+role"));
    }
    absl::StatusOr<auth::RoleSet> roles =
        auth::ParseRoles(mapping.substr(equals + 1));
    if (!roles.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("AVES_AUTH_CERT_ROLES: ", common_name, ": ",
                       roles.status().message()));
    }
    if (!config->auth_certificate_roles.emplace(common_name, *roles).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "AVES_AUTH_CERT_ROLES: '", common_name, "' is mapped twice"));
    }
  }
  if (!config->auth_certificate_roles.empty() &&
      config->tls_client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "AVES_AUTH_CERT_ROLES needs verified client certificates: set "
        "AVES_TLS_CLIENT_CA_FILE");
  }
  const std::string reflection =
      ReadString(lookup, "AVES_REFLECTION", config->auth() ? "admin" : "on");
  if (reflection == "on") {
    config->reflection = Config::Reflection::kOn;
  } else if (reflection == "admin") {
    config->reflection = Config::Reflection::kAdmin;
  } else if (reflection == "off") {
    config->reflection = Config::Reflection::kOff;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "AVES_REFLECTION: '", reflection, "' is not on, admin or off"));
  }
  ASSIGN_OR_RETURN(config->rate_limits, auth::ParseRateLimits(ReadString(
                                            lookup, "AVES_RATE_LIMITS", "")));
  return absl::OkStatus();
}

// The connection string in `name`, or in the file `name`_FILE (a Docker or
// Kubernetes secret, which keeps the password out of the environment other
// processes of the user can read); one of them at most.
absl::StatusOr<std::string> ReadConnectionString(const SettingLookup& lookup,
                                                 const std::string& name) {
  std::string value = ReadString(lookup, name, "");
  const std::string file_setting = name + "_FILE";
  const std::string file = ReadString(lookup, file_setting, "");
  if (file.empty()) return value;
  if (!value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_setting, ": ", name, " is set too; set one of them"));
  }
  ASSIGN_OR_RETURN(const std::string contents,
                   common::ReadSettingFile(file_setting, file, 64 << 10,
                                           "one connection string"));
  value = std::string(absl::StripAsciiWhitespace(contents));
  if (value.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_setting, ": ", file, " is empty or unreadable"));
  }
  return value;
}

}  // namespace

bool Config::listens_on_loopback() const {
  return IsLoopbackAddress(listen_address);
}

bool IsLoopbackAddress(absl::string_view address) {
  absl::string_view host = address;
  host = host.substr(0, host.rfind(':'));
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::StatusOr<Config> LoadConfig(const SettingLookup& lookup) {
  Config config;
  ASSIGN_OR_RETURN(config.database_url,
                   ReadConnectionString(lookup, "DATABASE_URL"));
  ASSIGN_OR_RETURN(config.migrate_database_url,
                   ReadConnectionString(lookup, "AVES_MIGRATE_DATABASE_URL"));
  config.listen_address =
      ReadString(lookup, "AVES_LISTEN", config.listen_address);
  if (config.listen_address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AVES_LISTEN: '", config.listen_address, "' is not host:port"));
  }
  // Set but empty turns the listener off (ReadString would take the default).
  if (std::optional<std::string> http = lookup("AVES_HTTP_LISTEN");
      http.has_value()) {
    config.http_listen = *std::move(http);
  }
  if (!config.http_listen.empty() &&
      config.http_listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("AVES_HTTP_LISTEN: '", config.http_listen,
                     "' is not host:port (empty turns the listener off)"));
  }
  RETURN_IF_ERROR(ReadTls(lookup, &config));
  RETURN_IF_ERROR(ReadAuth(lookup, &config));
  ASSIGN_OR_RETURN(config.insecure, ReadBool(lookup, "AVES_INSECURE", false));
  if (config.serves_anyone_remotely() && config.insecure) {
    config.warnings.push_back(absl::StrCat(
        "AVES_INSECURE=1: serving ", config.listen_address,
        " without TLS or authentication; anyone who reaches it may call "
        "every RPC"));
  }
  config.log_level = ReadString(lookup, "AVES_LOG_LEVEL", config.log_level);
  ASSIGN_OR_RETURN(config.health_interval,
                   ReadMillis(lookup, "AVES_HEALTH_INTERVAL_MS",
                              config.health_interval, 50, 60'000));
  ASSIGN_OR_RETURN(config.shutdown_grace,
                   ReadMillis(lookup, "AVES_SHUTDOWN_GRACE_MS",
                              config.shutdown_grace, 0, 600'000));
  ASSIGN_OR_RETURN(config.slow_rpc, ReadMillis(lookup, "AVES_SLOW_RPC_MS",
                                               config.slow_rpc, 1, 3'600'000));
  ASSIGN_OR_RETURN(config.slow_query,
                   ReadMillis(lookup, "AVES_SLOW_QUERY_MS", config.slow_query,
                              1, 3'600'000));
  ASSIGN_OR_RETURN(
      config.slow_query_explain_interval,
      ReadMillis(lookup, "AVES_SLOW_QUERY_EXPLAIN_INTERVAL_MS",
                 config.slow_query_explain_interval, 0, 86'400'000));
  RETURN_IF_ERROR(ReadIntInto(lookup, "AVES_SLOW_QUERY_LOG_SIZE",
                              &config.slow_query_log_size, 1, 100'000));
  ASSIGN_OR_RETURN(config.query_stats_interval,
                   ReadMillis(lookup, "AVES_QUERY_STATS_INTERVAL_MS",
                              config.query_stats_interval, 0, 86'400'000));
  ASSIGN_OR_RETURN(config.rpc_stats_interval,
                   ReadMillis(lookup, "AVES_RPC_STATS_INTERVAL_MS",
                              config.rpc_stats_interval, 100, 60'000));
  ASSIGN_OR_RETURN(
      config.analyze_schedule,
      ReadSchedule(lookup, "AVES_ANALYZE_SCHEDULE", config.analyze_schedule));
  ASSIGN_OR_RETURN(config.analyze_check_interval,
                   ReadMillis(lookup, "AVES_ANALYZE_CHECK_MS",
                              config.analyze_check_interval, 0, 86'400'000));
  ASSIGN_OR_RETURN(config.analyze_threshold_rows,
                   ReadInt(lookup, "AVES_ANALYZE_THRESHOLD_ROWS",
                           config.analyze_threshold_rows, 0, int64_t{1} << 40));
  RETURN_IF_ERROR(ReadIntInto(lookup, "AVES_ANALYZE_THRESHOLD_PERCENT",
                              &config.analyze_threshold_percent, 0, 100));
  ASSIGN_OR_RETURN(config.analyze_lock_timeout,
                   ReadMillis(lookup, "AVES_ANALYZE_LOCK_TIMEOUT_MS",
                              config.analyze_lock_timeout, 1, 3'600'000));
  ASSIGN_OR_RETURN(config.analyze_statement_timeout,
                   ReadMillis(lookup, "AVES_ANALYZE_STATEMENT_TIMEOUT_MS",
                              config.analyze_statement_timeout, 1, 86'400'000));
  ASSIGN_OR_RETURN(config.purge_interval,
                   ReadMillis(lookup, "AVES_PURGE_INTERVAL_MS",
                              config.purge_interval, 0, 86'400'000));
  RETURN_IF_ERROR(ReadIntInto(lookup, "AVES_MAX_MESSAGE_BYTES",
                              &config.max_message_bytes, 64 << 10, 1 << 30));
  RETURN_IF_ERROR(ReadIntInto(lookup, "AVES_WATCH_MAX_QUEUED",
                              &config.watch_max_queued, 1, 1'000'000));
  // At least one event of the largest metadata must fit.
  ASSIGN_OR_RETURN(
      config.watch_max_queued_bytes,
      ReadInt(lookup, "AVES_WATCH_MAX_QUEUED_BYTES",
              config.watch_max_queued_bytes, 2 << 20, int64_t{1} << 34));
  RETURN_IF_ERROR(ReadIntInto(lookup, "AVES_WATCH_MAX_STREAMS",
                              &config.watch_max_streams, 1, 1'000'000));
  ASSIGN_OR_RETURN(config.feed_heartbeat,
                   ReadMillis(lookup, "AVES_FEED_HEARTBEAT_MS",
                              config.feed_heartbeat, 50, 3'600'000));
  ASSIGN_OR_RETURN(config.feed_dead_after,
                   ReadMillis(lookup, "AVES_FEED_DEAD_AFTER_MS",
                              config.feed_dead_after, 100, 3'600'000));
  ASSIGN_OR_RETURN(
      config.watch_max_duration,
      ReadMillis(lookup, "AVES_WATCH_MAX_DURATION_MS",
                 config.watch_max_duration, 1'000, int64_t{7} * 86'400'000));
  RETURN_IF_ERROR(ReadIntInto(lookup, "AVES_GRPC_MAX_STREAMS_PER_CONNECTION",
                              &config.grpc_max_streams_per_connection, 1,
                              100'000));
  ASSIGN_OR_RETURN(
      config.grpc_memory_bytes,
      ReadInt(lookup, "AVES_GRPC_MEMORY_BYTES", config.grpc_memory_bytes,
              64 << 20, int64_t{1} << 40));
  ASSIGN_OR_RETURN(
      config.grpc_connection_idle,
      ReadMillis(lookup, "AVES_GRPC_CONNECTION_IDLE_MS",
                 config.grpc_connection_idle, 1'000, int64_t{7} * 86'400'000));
  RETURN_IF_ERROR(ReadIntInto(lookup, "AVES_LOOKUP_BATCH_MAX",
                              &config.lookup_batch_max, 1, 1000));
  RETURN_IF_ERROR(ReadIntInto(lookup, "AVES_BATCH_GET_MAX",
                              &config.batch_get_max, 1, 10'000));
  RETURN_IF_ERROR(ReadIntInto(lookup, "AVES_LOOKUP_BATCH_TASKS",
                              &config.lookup_batch_tasks, 0, 1000));
  ASSIGN_OR_RETURN(
      config.lookup_queue_bytes,
      ReadInt(lookup, "AVES_LOOKUP_QUEUE_BYTES", config.lookup_queue_bytes,
              64 << 10, int64_t{1} << 32));
  ASSIGN_OR_RETURN(config.cache_max_entries,
                   ReadInt(lookup, "AVES_CACHE_MAX_ENTRIES",
                           config.cache_max_entries, 0, 100'000'000));
  ASSIGN_OR_RETURN(config.cache_max_bytes,
                   ReadInt(lookup, "AVES_CACHE_MAX_BYTES",
                           config.cache_max_bytes, 0, int64_t{1} << 40));
  ASSIGN_OR_RETURN(config.cache_negative_ttl,
                   ReadMillis(lookup, "AVES_CACHE_NEGATIVE_TTL_MS",
                              config.cache_negative_ttl, 0, 3'600'000));
  for (absl::string_view table :
       absl::StrSplit(ReadString(lookup, "AVES_BULK_TABLES", ""), ',',
                      absl::SkipWhitespace())) {
    config.bulk_tables.emplace_back(absl::StripAsciiWhitespace(table));
  }
  for (absl::string_view table :
       absl::StrSplit(ReadString(lookup, "AVES_BULK_LOADER_TABLES", ""), ',',
                      absl::SkipWhitespace())) {
    config.bulk_loader_tables.emplace_back(absl::StripAsciiWhitespace(table));
  }
  RETURN_IF_ERROR(ReadIntInto(lookup, "AVES_BULK_PARALLEL_BATCHES",
                              &config.bulk_parallel_batches, 1, 16));
  RETURN_IF_ERROR(ReadIntInto(lookup, "AVES_BULK_MAX_BATCH_ROWS",
                              &config.bulk_max_batch_rows, 1, 1'000'000));
  ASSIGN_OR_RETURN(config.bulk_max_errors,
                   ReadInt(lookup, "AVES_BULK_MAX_ERRORS",
                           config.bulk_max_errors, 0, int64_t{1} << 40));
  ASSIGN_OR_RETURN(
      config.bulk_default_max_errors,
      ReadInt(lookup, "AVES_BULK_DEFAULT_MAX_ERRORS",
              config.bulk_default_max_errors, 0, config.bulk_max_errors));
  RETURN_IF_ERROR(ReadIntInto(lookup, "AVES_BULK_MAX_LOADS",
                              &config.bulk_max_loads, 1, 100'000));
  RETURN_IF_ERROR(ReadIntInto(lookup, "AVES_BULK_MAX_CONNECTIONS",
                              &config.bulk_max_connections, 0, 1000));
  ASSIGN_OR_RETURN(
      config.bulk_max_stream_bytes,
      ReadInt(lookup, "AVES_BULK_MAX_STREAM_BYTES",
              config.bulk_max_stream_bytes, 1 << 20, int64_t{1} << 34));
  ASSIGN_OR_RETURN(config.bulk_publish_timeout,
                   ReadMillis(lookup, "AVES_BULK_PUBLISH_TIMEOUT_MS",
                              config.bulk_publish_timeout, 100, 86'400'000));
  ASSIGN_OR_RETURN(config.bulk_idle_timeout,
                   ReadMillis(lookup, "AVES_BULK_IDLE_TIMEOUT_MS",
                              config.bulk_idle_timeout, 100, 86'400'000));
  ASSIGN_OR_RETURN(config.bulk_sweep_interval,
                   ReadMillis(lookup, "AVES_BULK_SWEEP_INTERVAL_MS",
                              config.bulk_sweep_interval, 0, 86'400'000));
  ASSIGN_OR_RETURN(
      config.bulk_abandoned_after,
      ReadMillis(lookup, "AVES_BULK_ABANDONED_AFTER_MS",
                 config.bulk_abandoned_after, 1'000, 7 * 86'400'000LL));
  ASSIGN_OR_RETURN(config.bulk_lease,
                   ReadMillis(lookup, "AVES_BULK_LEASE_MS", config.bulk_lease,
                              1'000, 86'400'000));
  config.page_token_key = ReadString(lookup, "AVES_PAGE_TOKEN_KEY", "");
  if (!config.page_token_key.empty() &&
      config.page_token_key.size() < Config::kMinPageTokenKeyBytes) {
    // Not echoed: it is a secret, however short.
    return absl::InvalidArgumentError(
        absl::StrCat("AVES_PAGE_TOKEN_KEY: ", config.page_token_key.size(),
                     " bytes; at least ", Config::kMinPageTokenKeyBytes,
                     " are needed (e.g. openssl rand -hex 32)"));
  }
  ASSIGN_OR_RETURN(
      config.page_token_lifetime,
      ReadMillis(lookup, "AVES_PAGE_TOKEN_TTL_MS", config.page_token_lifetime,
                 1'000, int64_t{366} * 86'400'000));
  if (config.page_token_key.empty()) {
    config.notes.push_back(
        "AVES_PAGE_TOKEN_KEY is not set: page tokens are signed with a random "
        "key and do not "
        "survive a restart or work across replicas");
  }
  ASSIGN_OR_RETURN(config.pool,
                   LoadPoolOptions(lookup, config.notes, config.warnings));
  const int pool_max = config.pool.max_connections;
  if (config.bulk_max_connections == 0) {
    config.bulk_max_connections = std::max(1, pool_max / 2);
  } else if (config.bulk_max_connections > pool_max) {
    return absl::InvalidArgumentError(
        absl::StrCat("AVES_BULK_MAX_CONNECTIONS (", config.bulk_max_connections,
                     ") is above DB_POOL_MAX (", pool_max, ")"));
  } else if (config.bulk_max_connections == pool_max && pool_max > 1) {
    config.warnings.push_back(absl::StrCat(
        "AVES_BULK_MAX_CONNECTIONS equals DB_POOL_MAX (", pool_max,
        "): bulk loads may take every connection and starve lookups"));
  }
  config.pool.interactive_reserve =
      std::max(0, std::min(config.pool.min_connections,
                           pool_max - config.bulk_max_connections));
  return config;
}

}  // namespace aves::config
