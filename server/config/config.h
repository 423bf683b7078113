// Config: every setting of avesd, read from environment variables (flags
// override them in main), validated once at start-up. An invalid value stops
// start-up with an error naming the variable.
#ifndef AVES_SERVER_CONFIG_CONFIG_H_
#define AVES_SERVER_CONFIG_CONFIG_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/time/time.h>

#include "server/auth/rate_limits.h"
#include "server/auth/roles.h"
#include "server/auth/token_verifier.h"
#include "server/db/pool_options.h"

namespace aves::config {

// Looks up a setting by its environment-variable name; nullopt when unset.
using SettingLookup =
    std::function<std::optional<std::string>(const std::string& name)>;

// The process environment.
SettingLookup EnvironmentLookup();

// `overrides` (from flags) first, then `fallback`.
SettingLookup OverlayLookup(std::map<std::string, std::string> overrides,
                            SettingLookup fallback);

// Whether host:port names a loopback host (127.0.0.0/8, ::1, localhost):
// only this machine's processes reach it.
bool IsLoopbackAddress(absl::string_view address);

struct Config {
  // libpq connection string or URI (DATABASE_URL). Empty: libpq's PG* defaults.
  std::string database_url;
  // The schema owner's connection string, for migrations only
  // (AVES_MIGRATE_DATABASE_URL or _FILE): avesd then serves as the least-
  // privileged role of DATABASE_URL (migration 018). Empty: DATABASE_URL.
  std::string migrate_database_url;
  const std::string& migration_url() const {
    return migrate_database_url.empty() ? database_url : migrate_database_url;
  }
  // host:port the gRPC server binds (AVES_LISTEN).
  std::string listen_address = "127.0.0.1:50051";
  // host:port of the HTTP listener for /metrics, /healthz and /readyz
  // (AVES_HTTP_LISTEN; empty: none). Port 0 picks a free one (tests).
  std::string http_listen = "127.0.0.1:9464";
  // TLS on the gRPC listener: the certificate chain and its key (PEM files,
  // AVES_TLS_CERT_FILE / AVES_TLS_KEY_FILE; both or neither). Re-read every
  // tls_reload_interval (AVES_TLS_RELOAD_MS, whole seconds), so a rotated
  // certificate reaches new connections without a restart.
  std::string tls_cert_file;
  std::string tls_key_file;
  // CAs that sign client certificates (AVES_TLS_CLIENT_CA_FILE) and whether
  // a client must present one (AVES_TLS_CLIENT_AUTH: none, request — verified
  // when given —, require; default require when the CA file is set).
  std::string tls_client_ca_file;
  enum class ClientAuth { kNone, kRequest, kRequire };
  ClientAuth tls_client_auth = ClientAuth::kNone;
  absl::Duration tls_reload_interval = absl::Seconds(60);
  bool tls() const { return !tls_cert_file.empty(); }
  // Bearer tokens (auth/token_verifier.h): the key that verifies them
  // (AVES_AUTH_JWT_KEY_FILE: an HS256 secret, or an RS256 / ES256 public key
  // in PEM) and its algorithm (AVES_AUTH_JWT_ALG, default HS256); the issuer
  // and audience a token must name, when set (AVES_AUTH_ISSUER,
  // AVES_AUTH_AUDIENCE); the clock skew allowed (AVES_AUTH_LEEWAY_MS).
  std::string auth_jwt_key_file;
  auth::Algorithm auth_jwt_algorithm = auth::Algorithm::kHs256;
  std::string auth_issuer;
  std::string auth_audience;
  absl::Duration auth_leeway = absl::Seconds(30);
  // Client-certificate common names and their roles under mutual TLS
  // (AVES_AUTH_CERT_ROLES="cn=role+role,cn2=role").
  std::map<std::string, auth::RoleSet> auth_certificate_roles;
  // Every call must authenticate when either is configured; without, avesd
  // serves anyone who reaches it (meant for loopback).
  bool auth() const {
    return !auth_jwt_key_file.empty() || !auth_certificate_roles.empty();
  }
  // Serving a non-loopback address with neither TLS nor authentication is
  // refused at start-up unless AVES_INSECURE=1 says so (then avesd warns
  // every minute it serves that way).
  bool insecure = false;
  // Whether AVES_LISTEN's host is a loopback address (127.0.0.0/8, ::1,
  // localhost): only this machine's processes reach it.
  bool listens_on_loopback() const;
  bool serves_anyone_remotely() const {
    return !listens_on_loopback() && !tls() && !auth();
  }
  // The same for the HTTP listener (what it shows is the service's state).
  bool http_serves_anyone_remotely() const {
    return !http_listen.empty() && !IsLoopbackAddress(http_listen) && !tls() &&
           !auth();
  }
  // gRPC server reflection (AVES_REFLECTION=on|admin|off): on by default
  // without authentication; with it, admin (only admin callers may list
  // the services: reflection has no rule of its own in the policy table).
  enum class Reflection { kOff, kAdmin, kOn };
  Reflection reflection = Reflection::kOn;
  // Calls per caller and method (AVES_RATE_LIMITS, auth/rate_limits.h for
  // the format), over defaults that limit the maintenance calls.
  auth::RateLimitTable rate_limits = auth::DefaultRateLimits();
  // spdlog level name (AVES_LOG_LEVEL).
  std::string log_level = "info";
  // How often the health monitor re-checks the database
  // (AVES_HEALTH_INTERVAL_MS).
  absl::Duration health_interval = absl::Seconds(1);
  // How long a shutdown waits for in-flight calls (AVES_SHUTDOWN_GRACE_MS).
  absl::Duration shutdown_grace = absl::Seconds(10);
  // RPCs slower than this log a warning instead of an info line
  // (AVES_SLOW_RPC_MS).
  absl::Duration slow_rpc = absl::Seconds(1);
  // A named statement slower than this is a warning in the log and counts in
  // aves_db_slow_queries_total (AVES_SLOW_QUERY_MS).
  absl::Duration slow_query = absl::Milliseconds(200);
  // A slow statement's plan is taken at most once per name per this
  // (AVES_SLOW_QUERY_EXPLAIN_INTERVAL_MS); 0 never takes plans.
  absl::Duration slow_query_explain_interval = absl::Seconds(60);
  // The last slow statements kept for ListSlowQueries
  // (AVES_SLOW_QUERY_LOG_SIZE).
  int slow_query_log_size = 100;
  // pg_stat_statements snapshots for GetQueryStats
  // (AVES_QUERY_STATS_INTERVAL_MS); 0 turns them off.
  absl::Duration query_stats_interval = absl::Seconds(60);
  // Every method's calls are sampled this often for GetRpcStats (the
  // dashboard's overview), over the last 15 minutes
  // (AVES_RPC_STATS_INTERVAL_MS).
  absl::Duration rpc_stats_interval = absl::Seconds(5);
  // Scheduled ANALYZE (store/maintenance_store.h): every service table once
  // per AVES_ANALYZE_SCHEDULE across replicas (weekly, daily, hourly, off, or
  // "12h", "30s"...), and any table whose rows modified since its last
  // ANALYZE pass AVES_ANALYZE_THRESHOLD_ROWS + AVES_ANALYZE_THRESHOLD_PERCENT
  // of its rows; checked every AVES_ANALYZE_CHECK_MS (0: no maintenance).
  // Each table's ANALYZE waits at most AVES_ANALYZE_LOCK_TIMEOUT_MS for its
  // lock and runs at most AVES_ANALYZE_STATEMENT_TIMEOUT_MS.
  absl::Duration analyze_schedule = absl::Hours(24 * 7);
  absl::Duration analyze_check_interval = absl::Minutes(1);
  int64_t analyze_threshold_rows = 50;
  int analyze_threshold_percent = 5;
  absl::Duration analyze_lock_timeout = absl::Seconds(5);
  absl::Duration analyze_statement_timeout = absl::Minutes(10);
  // How often avesd purges expired cache entries; zero: never
  // (AVES_PURGE_INTERVAL_MS).
  absl::Duration purge_interval = absl::Minutes(1);
  // Largest request or response message, bytes (AVES_MAX_MESSAGE_BYTES).
  int max_message_bytes = 4 << 20;
  // gRPC's own limits. Calls one connection may have open at once
  // (AVES_GRPC_MAX_STREAMS_PER_CONNECTION; more wait in the client); the
  // memory gRPC may use for all connections and calls (AVES_GRPC_MEMORY_BYTES:
  // its resource quota; past it gRPC sheds load); how long a connection
  // without calls stays open (AVES_GRPC_CONNECTION_IDLE_MS).
  int grpc_max_streams_per_connection = 100;
  int64_t grpc_memory_bytes = int64_t{1} << 30;
  absl::Duration grpc_connection_idle = absl::Minutes(10);
  // An Insert stream that sends nothing for this long ends, its load
  // resumable (AVES_BULK_IDLE_TIMEOUT_MS).
  absl::Duration bulk_idle_timeout = absl::Minutes(5);
  // A WatchJobs stream ends after this long with UNAVAILABLE, asking the
  // client to watch again (AVES_WATCH_MAX_DURATION_MS): no watcher holds its
  // slot forever, whatever its deadline.
  absl::Duration watch_max_duration = absl::Hours(1);
  // The job feed's heartbeat query (AVES_FEED_HEARTBEAT_MS), and how long its
  // connection may go unanswered before it is dropped and every watcher told
  // (AVES_FEED_DEAD_AFTER_MS): store/job_feed.h.
  absl::Duration feed_heartbeat = absl::Seconds(5);
  absl::Duration feed_dead_after = absl::Seconds(15);
  // Job events a WatchJobs stream may have waiting to be sent before it is
  // dropped with RESOURCE_EXHAUSTED (AVES_WATCH_MAX_QUEUED).
  int watch_max_queued = 1000;
  // Bytes of job events a watcher may have waiting (an event carries up to
  // 1 MiB of metadata) and how many watchers may be open at once.
  int64_t watch_max_queued_bytes = 8 << 20;
  int watch_max_streams = 1000;
  // Most GetExercise lookups sent to PostgreSQL in one statement; 1 turns
  // batching off (AVES_LOOKUP_BATCH_MAX).
  int lookup_batch_max = 64;
  // Most keys one BatchGetExercises may carry (AVES_BATCH_GET_MAX).
  int batch_get_max = 1000;
  // Most lookup batches in flight at once (AVES_LOOKUP_BATCH_TASKS); 0: one
  // per CPU core. One: fewer, larger batches and fewer thread hand-offs won
  // on this 2-core machine (measured: ARCHITECTURE.md).
  int lookup_batch_tasks = 1;
  // Bytes of lookup keys that may wait for a batch (AVES_LOOKUP_QUEUE_BYTES);
  // within it a lookup is refused only when the batches queued ahead would
  // take it past its deadline (handlers/lookup_batcher.h).
  int64_t lookup_queue_bytes = 16 << 20;
  // The in-process lookup cache (store/lookup_cache.h): its bounds
  // (AVES_CACHE_MAX_ENTRIES, AVES_CACHE_MAX_BYTES; either 0 turns it off) and
  // how long a miss is remembered (AVES_CACHE_NEGATIVE_TTL_MS).
  int64_t cache_max_entries = 100'000;
  int64_t cache_max_bytes = int64_t{256} << 20;
  absl::Duration cache_negative_ttl = absl::Seconds(1);
  // The tables bulk loads may write (AVES_BULK_TABLES, comma-separated);
  // empty: the schema's eight tables.
  std::vector<std::string> bulk_tables;
  // The tables a caller with the loader role may load into, when
  // authentication is on (AVES_BULK_LOADER_TABLES, comma-separated); empty:
  // every bulk table but `users` (its emails are people's). Admins load into
  // any bulk table.
  std::vector<std::string> bulk_loader_tables;
  // Batches of one INSERT load committing at once, each on its own pooled
  // connection (AVES_BULK_PARALLEL_BATCHES); 1: one after the other
  // (measured: ARCHITECTURE.md).
  int bulk_parallel_batches = 2;
  // The largest batch a loader may ask for (AVES_BULK_MAX_BATCH_ROWS).
  int bulk_max_batch_rows = 50'000;
  // Rows a per-batch load may refuse when its header does not say
  // (AVES_BULK_DEFAULT_MAX_ERRORS), and the most a header may ask for
  // (AVES_BULK_MAX_ERRORS): past it the load fails (bulk_insert.proto).
  int64_t bulk_default_max_errors = 1000;
  int64_t bulk_max_errors = 1'000'000;
  // How long an atomic load's publish may run (AVES_BULK_PUBLISH_TIMEOUT_MS):
  // one statement moves the whole load, longer than DB_QUERY_TIMEOUT allows.
  absl::Duration bulk_publish_timeout = absl::Minutes(30);
  // Rows one stream holds, in bytes of COPY text (AVES_BULK_MAX_STREAM_BYTES):
  // batches are cut at a share of it, and reading pauses while a stream
  // holds it (bulk/loader.h).
  int64_t bulk_max_stream_bytes = 64 << 20;
  // Insert streams open at once (AVES_BULK_MAX_LOADS); one more is refused
  // with RESOURCE_EXHAUSTED naming the setting.
  int bulk_max_loads = 16;
  // Pooled connections bulk loads use at once (AVES_BULK_MAX_CONNECTIONS;
  // 0: half of DB_POOL_MAX, at least 1): the rest stay for the unary calls,
  // so big loads cannot starve lookups. Bulk work runs on its own executor
  // of this many threads.
  int bulk_max_connections = 0;
  // How often avesd sweeps up after bulk loads abandoned by a crashed avesd
  // (AVES_BULK_SWEEP_INTERVAL_MS; 0: never), and how long a load must have
  // written nothing to count as abandoned (AVES_BULK_ABANDONED_AFTER_MS).
  absl::Duration bulk_sweep_interval = absl::Minutes(10);
  absl::Duration bulk_abandoned_after = absl::Hours(1);
  // How long a load's attempt holds it without a renewal
  // (AVES_BULK_LEASE_MS): avesd renews its streams' leases every third of
  // it, and a load whose avesd died can be resumed by another stream after
  // at most this long. One stream per load id at a time (bulk/ledger.h).
  absl::Duration bulk_lease = absl::Seconds(30);
  // Signs page tokens (AVES_PAGE_TOKEN_KEY). Empty: a random key per process
  // (tokens then do not survive a restart or cross replicas).
  // At least kMinPageTokenKeyBytes: a short one could be guessed.
  std::string page_token_key;
  static constexpr size_t kMinPageTokenKeyBytes = 32;
  // How long a page token is accepted (AVES_PAGE_TOKEN_TTL_MS).
  absl::Duration page_token_lifetime = absl::Hours(24);
  // The connection pool (DB_* variables; README lists them).
  db::PoolOptions pool;
  // For the start-up log. Notes (info) say what a default means, e.g. the
  // seed's equal statement and query timeouts set apart; warnings say that
  // a value the operator set was changed or is unsafe. A default never warns.
  std::vector<std::string> notes;
  std::vector<std::string> warnings;
};

// Reads and validates every setting.
absl::StatusOr<Config> LoadConfig(const SettingLookup& lookup);

}  // namespace aves::config

#endif  // AVES_SERVER_CONFIG_CONFIG_H_
