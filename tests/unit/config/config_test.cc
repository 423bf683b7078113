#include "server/config/config.h"

#include <fstream>
#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace aves::config {
namespace {

using ::aves::testing::StatusIs;
using ::testing::HasSubstr;

SettingLookup Fake(std::map<std::string, std::string> values) {
  return OverlayLookup(std::move(values),
                       [](const std::string&) -> std::optional<std::string> {
                         return std::nullopt;
                       });
}

TEST(ConfigTest, DefaultsWhenNothingIsSet) {
  absl::StatusOr<Config> config = LoadConfig(Fake({}));
  ASSERT_OK(config);
  EXPECT_EQ(config->database_url, "");
  EXPECT_EQ(config->listen_address, "127.0.0.1:50051");
  EXPECT_EQ(config->log_level, "info");
  EXPECT_EQ(config->health_interval, absl::Seconds(1));
  EXPECT_EQ(config->shutdown_grace, absl::Seconds(10));
}

TEST(ConfigTest, ReadsEverySetting) {
  absl::StatusOr<Config> config =
      LoadConfig(Fake({{"DATABASE_URL", "postgresql:///x"},
                       {"AVES_LISTEN", "0.0.0.0:6000"},
                       {"AVES_LOG_LEVEL", "debug"},
                       {"AVES_HEALTH_INTERVAL_MS", "250"},
                       {"AVES_SHUTDOWN_GRACE_MS", "0"}}));
  ASSERT_OK(config);
  EXPECT_EQ(config->database_url, "postgresql:///x");
  EXPECT_EQ(config->listen_address, "0.0.0.0:6000");
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->health_interval, absl::Milliseconds(250));
  EXPECT_EQ(config->shutdown_grace, absl::ZeroDuration());
}

TEST(ConfigTest, OverridesWinOverTheFallback) {
  SettingLookup env = Fake({{"AVES_LISTEN", "1.2.3.4:1"}});
  absl::StatusOr<Config> config =
      LoadConfig(OverlayLookup({{"AVES_LISTEN", "5.6.7.8:2"}}, env));
  ASSERT_OK(config);
  EXPECT_EQ(config->listen_address, "5.6.7.8:2");
}

TEST(ConfigTest, RejectsNonNumbersNamingTheVariable) {
  EXPECT_THAT(
      LoadConfig(Fake({{"AVES_HEALTH_INTERVAL_MS", "soon"}})),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("AVES_HEALTH_INTERVAL_MS: 'soon' is not a whole number")));
}

TEST(ConfigTest, RejectsOutOfRangeNamingTheVariable) {
  EXPECT_THAT(LoadConfig(Fake({{"AVES_SHUTDOWN_GRACE_MS", "-1"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_SHUTDOWN_GRACE_MS")));
  EXPECT_THAT(LoadConfig(Fake({{"AVES_HEALTH_INTERVAL_MS", "10"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_HEALTH_INTERVAL_MS")));
}

TEST(ConfigTest, ServingSettings) {
  absl::StatusOr<Config> defaults = LoadConfig(Fake({}));
  ASSERT_OK(defaults);
  EXPECT_EQ(defaults->slow_rpc, absl::Seconds(1));
  EXPECT_EQ(defaults->purge_interval, absl::Minutes(1));
  EXPECT_EQ(defaults->max_message_bytes, 4 << 20);
  EXPECT_EQ(defaults->watch_max_queued, 1000);
  EXPECT_EQ(defaults->lookup_batch_max, 64);
  EXPECT_EQ(defaults->lookup_batch_tasks, 1);
  EXPECT_TRUE(defaults->bulk_tables.empty());
  absl::StatusOr<Config> bulk =
      LoadConfig(Fake({{"AVES_BULK_TABLES", " users, images ,"}}));
  ASSERT_OK(bulk);
  EXPECT_EQ(bulk->bulk_tables, (std::vector<std::string>{"users", "images"}));
  absl::StatusOr<Config> set =
      LoadConfig(Fake({{"AVES_SLOW_RPC_MS", "250"},
                       {"AVES_PURGE_INTERVAL_MS", "0"},
                       {"AVES_WATCH_MAX_QUEUED", "16"},
                       {"AVES_LOOKUP_BATCH_MAX", "1"},
                       {"AVES_LOOKUP_BATCH_TASKS", "3"},
                       {"AVES_BATCH_GET_MAX", "50"},
                       {"AVES_SLOW_QUERY_EXPLAIN_INTERVAL_MS", "0"},
                       {"AVES_SLOW_QUERY_LOG_SIZE", "7"},
                       {"AVES_QUERY_STATS_INTERVAL_MS", "5000"},
                       {"AVES_MAX_MESSAGE_BYTES", "1048576"}}));
  ASSERT_OK(set);
  EXPECT_EQ(set->slow_rpc, absl::Milliseconds(250));
  EXPECT_EQ(set->purge_interval, absl::ZeroDuration());
  EXPECT_EQ(set->max_message_bytes, 1 << 20);
  EXPECT_EQ(set->watch_max_queued, 16);
  EXPECT_EQ(set->lookup_batch_max, 1);
  EXPECT_EQ(set->lookup_batch_tasks, 3);
  EXPECT_EQ(set->batch_get_max, 50);
  EXPECT_EQ(set->slow_query_explain_interval, absl::ZeroDuration());
  EXPECT_EQ(set->slow_query_log_size, 7);
  EXPECT_EQ(set->query_stats_interval, absl::Seconds(5));
  for (const char* name :
       {"AVES_SLOW_RPC_MS", "AVES_PURGE_INTERVAL_MS", "AVES_MAX_MESSAGE_BYTES",
        "AVES_WATCH_MAX_QUEUED", "AVES_LOOKUP_BATCH_MAX",
        "AVES_LOOKUP_BATCH_TASKS", "AVES_BATCH_GET_MAX",
        "AVES_SLOW_QUERY_EXPLAIN_INTERVAL_MS", "AVES_SLOW_QUERY_LOG_SIZE",
        "AVES_QUERY_STATS_INTERVAL_MS"}) {
    EXPECT_THAT(LoadConfig(Fake({{name, "-1"}})),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(name)));
  }
  EXPECT_THAT(LoadConfig(Fake({{"AVES_MAX_MESSAGE_BYTES", "100"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_MAX_MESSAGE_BYTES")));
}

TEST(ConfigTest, TlsSettingsBelongTogether) {
  absl::StatusOr<Config> plain = LoadConfig(Fake({}));
  ASSERT_OK(plain);
  EXPECT_FALSE(plain->tls());
  absl::StatusOr<Config> mutual =
      LoadConfig(Fake({{"AVES_TLS_CERT_FILE", "/c.pem"},
                       {"AVES_TLS_KEY_FILE", "/k.pem"},
                       {"AVES_TLS_CLIENT_CA_FILE", "/ca.pem"},
                       {"AVES_TLS_RELOAD_MS", "5000"}}));
  ASSERT_OK(mutual);
  EXPECT_TRUE(mutual->tls());
  EXPECT_EQ(mutual->tls_client_auth, Config::ClientAuth::kRequire)
      << "a client CA means verifying clients unless said otherwise";
  EXPECT_EQ(mutual->tls_reload_interval, absl::Seconds(5));
  EXPECT_THAT(LoadConfig(Fake({{"AVES_TLS_CERT_FILE", "/c.pem"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_TLS_KEY_FILE go together")));
  EXPECT_THAT(LoadConfig(Fake({{"AVES_TLS_CLIENT_CA_FILE", "/ca.pem"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_TLS_CLIENT_CA_FILE needs TLS")));
  EXPECT_THAT(LoadConfig(Fake({{"AVES_TLS_CERT_FILE", "/c.pem"},
                               {"AVES_TLS_KEY_FILE", "/k.pem"},
                               {"AVES_TLS_CLIENT_AUTH", "require"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("needs AVES_TLS_CLIENT_CA_FILE")));
  EXPECT_THAT(LoadConfig(Fake({{"AVES_TLS_CLIENT_AUTH", "maybe"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_TLS_CLIENT_AUTH: 'maybe'")));
}

TEST(ConfigTest, AuthSettingsAndWhatTheyNeed) {
  absl::StatusOr<Config> open = LoadConfig(Fake({}));
  ASSERT_OK(open);
  EXPECT_FALSE(open->auth());
  EXPECT_EQ(open->reflection, Config::Reflection::kOn)
      << "on by default without authentication";
  absl::StatusOr<Config> tokens =
      LoadConfig(Fake({{"AVES_AUTH_JWT_KEY_FILE", "/jwt.pem"},
                       {"AVES_AUTH_JWT_ALG", "ES256"},
                       {"AVES_AUTH_ISSUER", "https://auth.example"},
                       {"AVES_AUTH_AUDIENCE", "aves-data"},
                       {"AVES_AUTH_LEEWAY_MS", "5000"}}));
  ASSERT_OK(tokens);
  EXPECT_TRUE(tokens->auth());
  EXPECT_EQ(tokens->reflection, Config::Reflection::kAdmin)
      << "admin-only by default with authentication";
  EXPECT_EQ(tokens->auth_jwt_algorithm, auth::Algorithm::kEs256);
  EXPECT_EQ(tokens->auth_issuer, "https://auth.example");
  EXPECT_EQ(tokens->auth_leeway, absl::Seconds(5));
  absl::StatusOr<Config> certificates =
      LoadConfig(Fake({{"AVES_TLS_CERT_FILE", "/c.pem"},
                       {"AVES_TLS_KEY_FILE", "/k.pem"},
                       {"AVES_TLS_CLIENT_CA_FILE", "/ca.pem"},
                       {"AVES_AUTH_CERT_ROLES",
                        "dash.example=dashboard, ops=operator+dashboard"},
                       {"AVES_REFLECTION", "on"}}));
  ASSERT_OK(certificates);
  EXPECT_TRUE(certificates->auth());
  EXPECT_EQ(certificates->reflection, Config::Reflection::kOn);
  EXPECT_EQ(certificates->auth_certificate_roles.at("ops"),
            (auth::RoleSet{auth::Role::kOperator, auth::Role::kDashboard}));
  EXPECT_THAT(LoadConfig(Fake({{"AVES_AUTH_JWT_ALG", "none"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_AUTH_JWT_ALG")));
  EXPECT_THAT(LoadConfig(Fake({{"AVES_AUTH_AUDIENCE", "x"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("set AVES_AUTH_JWT_KEY_FILE")));
  EXPECT_THAT(LoadConfig(Fake({{"AVES_AUTH_CERT_ROLES", "a=loader"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_TLS_CLIENT_CA_FILE")));
  EXPECT_THAT(
      LoadConfig(Fake({{"AVES_TLS_CERT_FILE", "/c.pem"},
                       {"AVES_TLS_KEY_FILE", "/k.pem"},
                       {"AVES_TLS_CLIENT_CA_FILE", "/ca.pem"},
                       {"AVES_AUTH_CERT_ROLES", "a=loader,b=superuser"}})),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("AVES_AUTH_CERT_ROLES: b: 'superuser'")));
  EXPECT_THAT(LoadConfig(Fake({{"AVES_AUTH_CERT_ROLES", "loader"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("common-name=role")));
  EXPECT_THAT(LoadConfig(Fake({{"AVES_REFLECTION", "yes"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_REFLECTION")));
  EXPECT_THAT(
      LoadConfig(Fake({{"AVES_RATE_LIMITS", "AdminService.GetPoolStats=1"}})),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("AVES_RATE_LIMITS rule 'AdminService.GetPoolStats=1'")));
  absl::StatusOr<Config> limited = LoadConfig(
      Fake({{"AVES_RATE_LIMITS", "ExerciseCacheService.GetExercise=10/s"}}));
  ASSERT_OK(limited);
  EXPECT_EQ(limited->rate_limits.at("ExerciseCacheService.GetExercise").count,
            10);
  EXPECT_EQ(limited->rate_limits.count("AdminService.VerifyIndexes"), 1u)
      << "the defaults stay";
}

TEST(ConfigTest, KnowsWhenItWouldServeAnyoneRemotely) {
  for (const char* loopback :
       {"127.0.0.1:50051", "127.9.9.9:1", "localhost:50051", "[::1]:50051"}) {
    absl::StatusOr<Config> config =
        LoadConfig(Fake({{"AVES_LISTEN", loopback}}));
    ASSERT_OK(config);
    EXPECT_TRUE(config->listens_on_loopback()) << loopback;
    EXPECT_FALSE(config->serves_anyone_remotely()) << loopback;
  }
  for (const char* remote : {"0.0.0.0:50051", "[::]:50051", "10.0.0.5:50051",
                             "aves.example:1", "128.0.0.1:50051"}) {
    absl::StatusOr<Config> config = LoadConfig(Fake({{"AVES_LISTEN", remote}}));
    ASSERT_OK(config);
    EXPECT_TRUE(config->serves_anyone_remotely()) << remote;
    EXPECT_TRUE(config->warnings.empty());
  }
  absl::StatusOr<Config> authenticated = LoadConfig(
      Fake({{"AVES_LISTEN", "0.0.0.0:1"}, {"AVES_AUTH_JWT_KEY_FILE", "/k"}}));
  ASSERT_OK(authenticated);
  EXPECT_FALSE(authenticated->serves_anyone_remotely());
  absl::StatusOr<Config> insecure =
      LoadConfig(Fake({{"AVES_LISTEN", "0.0.0.0:1"}, {"AVES_INSECURE", "1"}}));
  ASSERT_OK(insecure);
  EXPECT_TRUE(insecure->insecure);
  EXPECT_THAT(insecure->warnings,
              ::testing::Contains(HasSubstr("AVES_INSECURE=1")));
}

TEST(ConfigTest, BulkLoadSettings) {
  absl::StatusOr<Config> defaults = LoadConfig(Fake({}));
  ASSERT_OK(defaults);
  EXPECT_EQ(defaults->bulk_parallel_batches, 2);
  EXPECT_EQ(defaults->bulk_max_batch_rows, 50'000);
  EXPECT_EQ(defaults->bulk_sweep_interval, absl::Minutes(10));
  EXPECT_EQ(defaults->bulk_abandoned_after, absl::Hours(1));
  EXPECT_EQ(defaults->bulk_lease, absl::Seconds(30));
  absl::StatusOr<Config> set =
      LoadConfig(Fake({{"AVES_BULK_PARALLEL_BATCHES", "1"},
                       {"AVES_BULK_MAX_BATCH_ROWS", "1000"},
                       {"AVES_BULK_SWEEP_INTERVAL_MS", "0"},
                       {"AVES_BULK_ABANDONED_AFTER_MS", "60000"},
                       {"AVES_BULK_LEASE_MS", "5000"}}));
  ASSERT_OK(set);
  EXPECT_EQ(set->bulk_parallel_batches, 1);
  EXPECT_EQ(set->bulk_max_batch_rows, 1000);
  EXPECT_EQ(set->bulk_sweep_interval, absl::ZeroDuration());
  EXPECT_EQ(set->bulk_abandoned_after, absl::Minutes(1));
  EXPECT_EQ(set->bulk_lease, absl::Seconds(5));
  // No parallelism of zero, no batches of zero rows, no instant abandonment.
  for (const auto& [name, value] :
       {std::pair{"AVES_BULK_PARALLEL_BATCHES", "0"},
        std::pair{"AVES_BULK_PARALLEL_BATCHES", "17"},
        std::pair{"AVES_BULK_MAX_BATCH_ROWS", "0"},
        std::pair{"AVES_BULK_SWEEP_INTERVAL_MS", "-1"},
        std::pair{"AVES_BULK_ABANDONED_AFTER_MS", "10"},
        std::pair{"AVES_BULK_LEASE_MS", "999"},
        std::pair{"AVES_BULK_MAX_STREAM_BYTES", "1000"},
        std::pair{"AVES_BULK_MAX_LOADS", "0"},
        std::pair{"AVES_BULK_MAX_CONNECTIONS", "21"}}) {
    EXPECT_THAT(LoadConfig(Fake({{name, value}})),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(name)))
        << name << "=" << value;
  }
}

TEST(ConfigTest, BulkLoadsGetAShareOfThePool) {
  absl::StatusOr<Config> defaults = LoadConfig(Fake({}));
  ASSERT_OK(defaults);
  EXPECT_EQ(defaults->bulk_max_stream_bytes, 64 << 20);
  EXPECT_EQ(defaults->bulk_max_loads, 16);
  EXPECT_EQ(defaults->bulk_max_connections, 10) << "half of DB_POOL_MAX=20";
  EXPECT_EQ(defaults->pool.interactive_reserve, 5) << "DB_POOL_MIN";
  EXPECT_TRUE(defaults->warnings.empty());
  absl::StatusOr<Config> tiny =
      LoadConfig(Fake({{"DB_POOL_MAX", "1"}, {"DB_POOL_MIN", "1"}}));
  ASSERT_OK(tiny);
  EXPECT_EQ(tiny->bulk_max_connections, 1);
  EXPECT_EQ(tiny->pool.interactive_reserve, 0) << "nothing left to reserve";
  absl::StatusOr<Config> all =
      LoadConfig(Fake({{"AVES_BULK_MAX_CONNECTIONS", "20"}}));
  ASSERT_OK(all);
  EXPECT_EQ(all->pool.interactive_reserve, 0);
  ASSERT_EQ(all->warnings.size(), 1u);
  EXPECT_THAT(all->warnings[0], HasSubstr("starve lookups"));
}

TEST(ConfigTest, APageTokenKeyQuietsItsNote) {
  absl::StatusOr<Config> config =
      LoadConfig(Fake({{"AVES_PAGE_TOKEN_KEY", std::string(32, 'k')},
                       {"AVES_PAGE_TOKEN_TTL_MS", "60000"}}));
  ASSERT_OK(config);
  EXPECT_EQ(config->page_token_key, std::string(32, 'k'));
  EXPECT_EQ(config->page_token_lifetime, absl::Minutes(1));
  EXPECT_THAT(
      config->notes,
      ::testing::Not(::testing::Contains(HasSubstr("AVES_PAGE_TOKEN_KEY"))));
}

TEST(ConfigTest, AShortPageTokenKeyIsRefusedWithoutEchoingIt) {
  absl::StatusOr<Config> config =
      LoadConfig(Fake({{"AVES_PAGE_TOKEN_KEY", "shared-secret"}}));
  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("AVES_PAGE_TOKEN_KEY: 13 bytes")));
  EXPECT_THAT(config.status().message(),
              ::testing::Not(HasSubstr("shared-secret")));
  EXPECT_EQ(LoadConfig(Fake({}))->page_token_lifetime, absl::Hours(24));
  EXPECT_THAT(LoadConfig(Fake({{"AVES_PAGE_TOKEN_TTL_MS", "10"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_PAGE_TOKEN_TTL_MS")));
}

TEST(ConfigTest, TheDatabaseUrlCanComeFromAFile) {
  const std::string path = ::testing::TempDir() + "/database_url";
  {
    std::ofstream file(path);
    file << "postgresql://aves:s3cret@db/aves\n";
  }
  absl::StatusOr<Config> config =
      LoadConfig(Fake({{"DATABASE_URL_FILE", path}}));
  ASSERT_OK(config);
  EXPECT_EQ(config->database_url, "postgresql://aves:s3cret@db/aves");
  EXPECT_THAT(LoadConfig(Fake({{"DATABASE_URL_FILE", path},
                               {"DATABASE_URL", "postgresql:///x"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("set one of them")));
  absl::StatusOr<Config> missing =
      LoadConfig(Fake({{"DATABASE_URL_FILE", path + ".missing"}}));
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("DATABASE_URL_FILE")));
  // A wrong path that never ends is read only up to the bound.
  EXPECT_THAT(LoadConfig(Fake({{"DATABASE_URL_FILE", "/dev/zero"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is longer than")));
}

TEST(ConfigTest, TheHttpListenerIsOnLoopbackByDefaultAndOffWhenEmpty) {
  absl::StatusOr<Config> defaults = LoadConfig(Fake({}));
  ASSERT_OK(defaults);
  EXPECT_EQ(defaults->http_listen, "127.0.0.1:9464");
  EXPECT_FALSE(defaults->http_serves_anyone_remotely());
  absl::StatusOr<Config> off = LoadConfig(Fake({{"AVES_HTTP_LISTEN", ""}}));
  ASSERT_OK(off);
  EXPECT_EQ(off->http_listen, "");
  EXPECT_FALSE(off->http_serves_anyone_remotely());
  absl::StatusOr<Config> open =
      LoadConfig(Fake({{"AVES_HTTP_LISTEN", "0.0.0.0:9464"}}));
  ASSERT_OK(open);
  EXPECT_TRUE(open->http_serves_anyone_remotely());
  EXPECT_THAT(LoadConfig(Fake({{"AVES_HTTP_LISTEN", "9464"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_HTTP_LISTEN")));
}

TEST(ConfigTest, MigrationsMayConnectAsAnotherRole) {
  absl::StatusOr<Config> same =
      LoadConfig(Fake({{"DATABASE_URL", "postgresql://aves_app@db/aves"}}));
  ASSERT_OK(same);
  EXPECT_EQ(same->migration_url(), "postgresql://aves_app@db/aves");
  absl::StatusOr<Config> split = LoadConfig(
      Fake({{"DATABASE_URL", "postgresql://aves_app@db/aves"},
            {"AVES_MIGRATE_DATABASE_URL", "postgresql://owner@db/aves"}}));
  ASSERT_OK(split);
  EXPECT_EQ(split->database_url, "postgresql://aves_app@db/aves");
  EXPECT_EQ(split->migration_url(), "postgresql://owner@db/aves");
  const std::string path = ::testing::TempDir() + "/migrate_url";
  std::ofstream(path) << "postgresql://owner:s3cret@db/aves\n";
  absl::StatusOr<Config> from_file =
      LoadConfig(Fake({{"AVES_MIGRATE_DATABASE_URL_FILE", path}}));
  ASSERT_OK(from_file);
  EXPECT_EQ(from_file->migration_url(), "postgresql://owner:s3cret@db/aves");
  EXPECT_THAT(LoadConfig(Fake({{"AVES_MIGRATE_DATABASE_URL_FILE", path},
                               {"AVES_MIGRATE_DATABASE_URL", "x"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_MIGRATE_DATABASE_URL_FILE")));
}

TEST(ConfigTest, RejectsListenWithoutPort) {
  EXPECT_THAT(
      LoadConfig(Fake({{"AVES_LISTEN", "localhost"}})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("AVES_LISTEN")));
}

TEST(ConfigTest,
     PoolDefaultsAreTheSeedsWithTheStatementTimeoutBelowTheQueryTimeout) {
  absl::StatusOr<Config> config = LoadConfig(Fake({}));
  ASSERT_OK(config);
  const db::PoolOptions& pool = config->pool;
  EXPECT_EQ(pool.max_connections, 20);
  EXPECT_EQ(pool.min_connections, 5);
  EXPECT_EQ(pool.query_timeout, absl::Seconds(10));
  EXPECT_EQ(pool.statement_timeout,
            absl::Milliseconds(9500));  // the seed's 10000, lowered
  EXPECT_FALSE(pool.debug);
  EXPECT_THAT(config->notes, ::testing::Contains(HasSubstr("using 9500 ms")));
  EXPECT_THAT(config->notes,
              ::testing::Contains(HasSubstr("AVES_PAGE_TOKEN_KEY is not set")));
  EXPECT_THAT(config->warnings, ::testing::IsEmpty())
      << "a default never warns";
  // The seed's own .env sets both to 10000: still the documented case.
  absl::StatusOr<Config> seed = LoadConfig(
      Fake({{"DB_STATEMENT_TIMEOUT", "10000"}, {"DB_QUERY_TIMEOUT", "10000"}}));
  ASSERT_OK(seed);
  EXPECT_EQ(seed->pool.statement_timeout, absl::Milliseconds(9500));
  EXPECT_THAT(seed->warnings, ::testing::IsEmpty());
}

TEST(ConfigTest, ReadsEveryPoolVariable) {
  absl::StatusOr<Config> config =
      LoadConfig(Fake({{"DB_POOL_MAX", "40"},
                       {"DB_POOL_MIN", "2"},
                       {"DB_STATEMENT_TIMEOUT", "3000"},
                       {"DB_QUERY_TIMEOUT", "4000"},
                       {"DB_DEBUG", "true"},
                       {"DB_ACQUIRE_TIMEOUT", "700"},
                       {"DB_MAX_WAITERS", "9"},
                       {"DB_IDLE_TIMEOUT", "0"},
                       {"DB_MAX_LIFETIME", "60000"},
                       {"DB_CONNECT_TIMEOUT", "1500"},
                       {"DB_ERROR_RATE_WARN", "7"},
                       {"DB_LEASE_WARN", "2500"}}));
  ASSERT_OK(config);
  const db::PoolOptions& pool = config->pool;
  EXPECT_EQ(pool.max_connections, 40);
  EXPECT_EQ(pool.min_connections, 2);
  EXPECT_EQ(pool.statement_timeout, absl::Seconds(3));
  EXPECT_EQ(pool.query_timeout, absl::Seconds(4));
  EXPECT_TRUE(pool.debug);
  EXPECT_EQ(pool.acquire_timeout, absl::Milliseconds(700));
  EXPECT_EQ(pool.max_waiters, 9);
  EXPECT_EQ(pool.idle_timeout, absl::ZeroDuration());
  EXPECT_EQ(pool.max_lifetime, absl::Minutes(1));
  EXPECT_EQ(pool.connect_timeout, absl::Milliseconds(1500));
  EXPECT_EQ(pool.error_rate_warn, 7);
  EXPECT_EQ(pool.lease_warn, absl::Milliseconds(2500));
  EXPECT_THAT(
      config->notes,
      ::testing::Not(::testing::Contains(HasSubstr("DB_STATEMENT_TIMEOUT"))));
}

TEST(ConfigTest, EveryPoolVariableRejectsNonNumbersAndNegatives) {
  for (const char* name :
       {"DB_POOL_MAX", "DB_POOL_MIN", "DB_STATEMENT_TIMEOUT",
        "DB_QUERY_TIMEOUT", "DB_ACQUIRE_TIMEOUT", "DB_MAX_WAITERS",
        "DB_IDLE_TIMEOUT", "DB_MAX_LIFETIME", "DB_CONNECT_TIMEOUT",
        "DB_ERROR_RATE_WARN", "DB_LEASE_WARN"}) {
    EXPECT_THAT(LoadConfig(Fake({{name, "ten"}})),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(name)))
        << name;
    EXPECT_THAT(LoadConfig(Fake({{name, "-5"}})),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(name)))
        << name;
  }
  EXPECT_THAT(
      LoadConfig(Fake({{"DB_DEBUG", "maybe"}})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("DB_DEBUG")));
}

TEST(ConfigTest, RejectsAMinimumAboveTheMaximum) {
  EXPECT_THAT(LoadConfig(Fake({{"DB_POOL_MIN", "30"}, {"DB_POOL_MAX", "20"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("DB_POOL_MIN: 30 is above DB_POOL_MAX (20)")));
  EXPECT_THAT(
      LoadConfig(Fake({{"DB_POOL_MAX", "0"}})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("DB_POOL_MAX")));
}

TEST(ConfigTest, LowersAStatementTimeoutAboveTheQueryTimeout) {
  absl::StatusOr<Config> config = LoadConfig(
      Fake({{"DB_STATEMENT_TIMEOUT", "60000"}, {"DB_QUERY_TIMEOUT", "2000"}}));
  ASSERT_OK(config);
  EXPECT_EQ(config->pool.statement_timeout, absl::Milliseconds(1900));
  EXPECT_LT(config->pool.statement_timeout, config->pool.query_timeout);
  EXPECT_THAT(
      config->warnings,
      ::testing::Contains(HasSubstr("DB_STATEMENT_TIMEOUT (60000 ms)")));
}

TEST(ConfigTest, RejectsALifetimeTooShortToBeMeant) {
  EXPECT_THAT(LoadConfig(Fake({{"DB_MAX_LIFETIME", "500"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("DB_MAX_LIFETIME")));
}

TEST(ConfigTest, BooleansAcceptTheUsualSpellings) {
  for (const char* yes : {"true", "TRUE", "1", "yes", "on"}) {
    absl::StatusOr<Config> config = LoadConfig(Fake({{"DB_DEBUG", yes}}));
    ASSERT_OK(config);
    EXPECT_TRUE(config->pool.debug) << yes;
  }
  for (const char* no : {"false", "0", "no", "off"}) {
    absl::StatusOr<Config> config = LoadConfig(Fake({{"DB_DEBUG", no}}));
    ASSERT_OK(config);
    EXPECT_FALSE(config->pool.debug) << no;
  }
}

TEST(ConfigTest, AnAnalyzeScheduleIsANameOrACountWithAUnit) {
  absl::StatusOr<Config> defaults = LoadConfig(Fake({}));
  ASSERT_OK(defaults);
  EXPECT_EQ(defaults->analyze_schedule, absl::Hours(24 * 7));
  EXPECT_EQ(defaults->analyze_threshold_percent, 5);
  for (const auto& [text, wanted] :
       std::vector<std::pair<std::string, absl::Duration>>{
           {"daily", absl::Hours(24)},
           {"Hourly", absl::Hours(1)},
           {"off", absl::ZeroDuration()},
           {"0", absl::ZeroDuration()},
           {"12h", absl::Hours(12)},
           {"30s", absl::Seconds(30)},
           {"500ms", absl::Milliseconds(500)},
           {"45m", absl::Minutes(45)},
           {"2d", absl::Hours(48)}}) {
    absl::StatusOr<Config> config =
        LoadConfig(Fake({{"AVES_ANALYZE_SCHEDULE", text}}));
    ASSERT_OK(config);
    EXPECT_EQ(config->analyze_schedule, wanted) << text;
  }
  for (const char* bad : {"weekly-ish", "12", "h", "-1h", "1.5h", "9999d"}) {
    EXPECT_THAT(LoadConfig(Fake({{"AVES_ANALYZE_SCHEDULE", bad}})),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("AVES_ANALYZE_SCHEDULE")))
        << bad;
  }
}

}  // namespace
}  // namespace aves::config
