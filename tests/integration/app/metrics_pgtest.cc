// avesd's HTTP listener against a real PostgreSQL: /metrics counts exactly
// the RPCs driven and passes `promtool check metrics`; labels stay bounded
// whatever the requests carry; /healthz and /readyz; with authentication
// on, /metrics needs a reader's token.
#include <algorithm>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <absl/time/clock.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "aves/data/v1/batch_jobs.grpc.pb.h"
#include "aves/data/v1/exercise_cache.grpc.pb.h"
#include "client/lib/channel.h"
#include "tests/support/avesd_process.h"
#include "tests/support/http_get.h"
#include "tests/support/in_process_server.h"
#include "tests/support/private_cluster.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"
#include "tests/support/test_tokens.h"

namespace aves {
namespace {

using ::testing::HasSubstr;
namespace v1 = data::v1;

constexpr char kLookups[] =
    "grpc_type=\"unary\",grpc_service=\"aves.data.v1.ExerciseCacheService\","
    "grpc_method=\"GetExercise\"";

std::string Handled(const std::string& method_labels, const char* code) {
  return absl::StrCat("grpc_server_handled_total{", method_labels,
                      ",grpc_code=\"", code, "\"}");
}

std::string RandomUserId(std::mt19937_64& random) {
  return absl::StrFormat("%08x-%04x-4%03x-8%03x-%012x",
                         static_cast<uint32_t>(random()),
                         static_cast<uint16_t>(random()), random() % 0x1000,
                         random() % 0x1000, random() % 0x1000000000000ULL);
}

grpc::Status Lookup(v1::ExerciseCacheService::Stub& stub,
                    const std::string& user_id, int difficulty) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  v1::GetExerciseRequest request;
  request.set_user_id(user_id);
  request.set_exercise_type("identify");
  request.set_difficulty_level(difficulty);
  v1::GetExerciseResponse response;
  return stub.GetExercise(&context, request, &response);
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("metrics");
    ASSERT_OK(database);
    database_ = *std::move(database);
  }
  std::unique_ptr<testing::TestDatabase> database_;
};

TEST_F(MetricsTest, CountsTheRpcsDrivenAndPassesPromtool) {
  auto server = testing::InProcessServer::Start(database_->conninfo());
  ASSERT_OK(server);
  auto stub = v1::ExerciseCacheService::NewStub((*server)->channel());
  const std::string user = "3f1e0c9a-58a4-4d0c-9f5e-2b8c1d7e6a40";
  {
    grpc::ClientContext context;
    v1::PutExerciseRequest put;
    put.set_user_id(user);
    put.set_exercise_type("identify");
    put.set_difficulty_level(2);
    put.set_exercise_data("{\"bird\":\"heron\"}");
    v1::PutExerciseResponse response;
    ASSERT_TRUE(stub->PutExercise(&context, put, &response).ok());
  }
  constexpr int kHits = 7, kMisses = 4;
  for (int i = 0; i < kHits; ++i) ASSERT_TRUE(Lookup(*stub, user, 2).ok());
  for (int i = 0; i < kMisses; ++i) {
    ASSERT_EQ(Lookup(*stub, user, 5).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  ASSERT_EQ(Lookup(*stub, "not-a-uuid", 2).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  const testing::HttpResponse scrape =
      testing::HttpGet((*server)->http_address(), "/metrics");
  ASSERT_EQ(scrape.status, 200);
  EXPECT_THAT(scrape.content_type, HasSubstr("text/plain; version=0.0.4"));
  const std::string& text = scrape.body;
  EXPECT_EQ(testing::MetricValue(text, Handled(kLookups, "OK")), kHits);
  EXPECT_EQ(testing::MetricValue(text, Handled(kLookups, "NotFound")), kMisses);
  EXPECT_EQ(testing::MetricValue(text, Handled(kLookups, "InvalidArgument")),
            1);
  EXPECT_EQ(
      testing::MetricValue(
          text, absl::StrCat("grpc_server_started_total{", kLookups, "}")),
      kHits + kMisses + 1);
  EXPECT_EQ(testing::MetricValue(
                text, absl::StrCat("grpc_server_handling_seconds_count{",
                                   kLookups, "}")),
            kHits + kMisses + 1);
  EXPECT_EQ(
      testing::MetricValue(
          text, absl::StrCat("grpc_server_msg_received_total{", kLookups, "}")),
      kHits + kMisses + 1);
  // The health checks of the test harness are counted too.
  EXPECT_GT(testing::MetricValue(
                text, Handled("grpc_type=\"unary\",grpc_service=\"grpc.health."
                              "v1.Health\",grpc_method=\"Check\"",
                              "OK")),
            0);
  EXPECT_EQ(testing::MetricValue(text, "aves_serving"), 1);
  EXPECT_GE(testing::MetricValue(text, "aves_db_pool_connections_max"), 1);
  // Every lookup waited for a connection once (a batch may serve several).
  EXPECT_GE(
      testing::MetricValue(text, "aves_db_pool_acquire_wait_seconds_count"), 1);
  EXPECT_GE(testing::MetricValue(text, "aves_db_pool_use_time_seconds_count"),
            1);
  EXPECT_GT(testing::MetricValue(text, "process_resident_memory_bytes"), 0);
  EXPECT_GT(testing::MetricValue(text, "process_open_fds"), 0);
  EXPECT_THAT(text, HasSubstr("aves_build_info{version=\""));

  const std::string file = testing::MakeTempDir() + "/scrape.txt";
  std::ofstream(file) << text;
  testing::CommandResult promtool = testing::RunCommand(
      {"/bin/sh", "-c", "/usr/bin/promtool check metrics < " + file});
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;
}

TEST_F(MetricsTest, RandomUserIdsAddNoSeries) {
  auto server = testing::InProcessServer::Start(database_->conninfo());
  ASSERT_OK(server);
  auto stub = v1::ExerciseCacheService::NewStub((*server)->channel());
  std::mt19937_64 random(7);
  for (int i = 0; i < 10; ++i) {
    ASSERT_NE(Lookup(*stub, RandomUserId(random), 1 + i % 5).error_code(),
              grpc::StatusCode::INTERNAL);
  }
  const int after_ten = testing::SeriesCount(
      testing::HttpGet((*server)->http_address(), "/metrics").body);
  // 10,000 more, from four threads, each a different learner.
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      std::mt19937_64 mine(100 + t);
      for (int i = 0; i < 2500; ++i) {
        (void)Lookup(*stub, RandomUserId(mine), 1 + i % 5);
      }
    });
  }
  for (std::thread& client : clients) client.join();
  const std::string scrape =
      testing::HttpGet((*server)->http_address(), "/metrics").body;
  EXPECT_EQ(testing::SeriesCount(scrape), after_ten);
  EXPECT_EQ(
      testing::MetricValue(
          scrape, absl::StrCat("grpc_server_started_total{", kLookups, "}")),
      10'010);
}

TEST_F(MetricsTest, ProbesAnswerWithoutCredentialsAndMetricsNeedAReader) {
  const std::string key_file = testing::MakeTempDir() + "/jwt.key";
  const std::string secret = testing::kTestTokenSecret;
  std::ofstream(key_file) << secret;
  auto server = testing::InProcessServer::Start(
      database_->conninfo(),
      [&](config::Config& config) { config.auth_jwt_key_file = key_file; });
  ASSERT_OK(server);
  auto token = [](const std::string& role) {
    return testing::TestToken(role + "-1", {role});
  };
  const std::string http = (*server)->http_address();
  EXPECT_EQ(testing::HttpGet(http, "/healthz").status, 200);
  EXPECT_EQ(testing::HttpGet(http, "/readyz").status, 200);
  const testing::HttpResponse anonymous = testing::HttpGet(http, "/metrics");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_THAT(anonymous.body, ::testing::Not(HasSubstr("grpc_server")));
  EXPECT_EQ(testing::HttpGet(http, "/metrics", "not-a-token").status, 401);
  const testing::HttpResponse frontend =
      testing::HttpGet(http, "/metrics", token("frontend"));
  EXPECT_EQ(frontend.status, 403);
  EXPECT_THAT(frontend.body, HasSubstr("it needs"));
  EXPECT_EQ(testing::HttpGet(http, "/metrics", token("dashboard")).status, 200);
  EXPECT_EQ(testing::HttpGet(http, "/metrics", token("operator")).status, 200);
  EXPECT_EQ(testing::HttpGet(http, "/nothing-here", token("admin")).status,
            404);
}

// Each named statement has its duration histogram, failures by SQLSTATE
// class, and slow executions counted (a 1 ms threshold makes a pg_sleep-
// free lookup slow enough only sometimes, so the test lowers it to the
// smallest and checks the counter moves with the log line).
TEST_F(MetricsTest, NamedStatementsAreTimedAndSlowOnesCounted) {
  auto server = testing::InProcessServer::Start(
      database_->conninfo(), [](config::Config& config) {
        config.slow_query = absl::Microseconds(1);
      });
  ASSERT_OK(server);
  auto stub = v1::ExerciseCacheService::NewStub((*server)->channel());
  const std::string user = "3f1e0c9a-58a4-4d0c-9f5e-2b8c1d7e6a40";
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Lookup(*stub, user, 1 + i).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  const std::string scrape =
      testing::HttpGet((*server)->http_address(), "/metrics").body;
  // Lookups go through the batcher: one key alone as lookup_exercise,
  // several at once as lookup_exercises_batch.
  auto both = [&](const std::string& family) {
    double total = 0;
    for (const char* query : {"lookup_exercise", "lookup_exercises_batch"}) {
      total += std::max(
          0.0, testing::MetricValue(
                   scrape, absl::StrCat(family, "{query=\"", query, "\"}")));
    }
    return total;
  };
  const double statements = both("aves_db_query_duration_seconds_count");
  EXPECT_GE(statements, 1);
  EXPECT_LE(statements, 3);
  EXPECT_EQ(both("aves_db_slow_queries_total"), statements)
      << "every execution is slower than 1 us";
  EXPECT_EQ(
      testing::MetricValue(
          scrape, "aves_db_query_duration_seconds_count{query=\"get_job\"}"),
      0);
  EXPECT_THAT(
      scrape,
      HasSubstr("aves_db_query_duration_seconds_bucket{query=\"other\""));
}

TEST_F(MetricsTest, OpenWatchStreamsAreCounted) {
  auto server = testing::InProcessServer::Start(database_->conninfo());
  ASSERT_OK(server);
  auto open_now = [&] {
    return testing::MetricValue(
        testing::HttpGet((*server)->http_address(), "/metrics").body,
        "aves_watch_streams_open");
  };
  EXPECT_EQ(open_now(), 0);
  auto stub = v1::BatchJobService::NewStub((*server)->channel());
  {
    grpc::ClientContext context;
    auto reader = stub->WatchJobs(&context, v1::WatchJobsRequest());
    v1::WatchJobsResponse snapshot;
    ASSERT_TRUE(reader->Read(&snapshot));  // the stream is up
    EXPECT_EQ(open_now(), 1);
    context.TryCancel();
    (void)reader->Finish();
  }
  double seen = -1;
  for (int i = 0; i < 100 && seen != 0; ++i) {
    seen = open_now();
    if (seen != 0) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(seen, 0) << "a cancelled watcher is no longer counted";
  EXPECT_EQ(testing::MetricValue(
                testing::HttpGet((*server)->http_address(), "/metrics").body,
                "aves_watch_streams_dropped_slow_total"),
            0);
}

// An avesd started before its migrations: not serving, schema not current,
// until `avesd migrate` runs; /readyz says the same.
TEST_F(MetricsTest, SchemaCurrentFollowsTheMigrations) {
  auto empty = testing::TestDatabase::CreateEmpty("metrics_schema");
  ASSERT_OK(empty);
  testing::AvesdProcess avesd((*empty)->conninfo());
  ASSERT_FALSE(avesd.Address().empty());
  const std::string http = avesd.HttpAddress();
  ASSERT_FALSE(http.empty());
  auto metric = [&](const char* name) {
    return testing::MetricValue(testing::HttpGet(http, "/metrics").body, name);
  };
  auto wait_for = [&](const char* name, double wanted) {
    double seen = -1;
    for (int i = 0; i < 300 && seen != wanted; ++i) {
      seen = metric(name);
      if (seen != wanted) absl::SleepFor(absl::Milliseconds(100));
    }
    return seen;
  };
  EXPECT_EQ(wait_for("aves_schema_current", 0), 0);
  EXPECT_EQ(metric("aves_serving"), 0);
  EXPECT_EQ(testing::HttpGet(http, "/readyz").status, 503);
  testing::CommandResult migrated = testing::RunCommand(
      {AVESD_PATH, "migrate"}, {{"DATABASE_URL", (*empty)->conninfo()}});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_EQ(wait_for("aves_schema_current", 1), 1);
  EXPECT_EQ(wait_for("aves_serving", 1), 1);
  EXPECT_EQ(testing::HttpGet(http, "/readyz").status, 200);
}

// Each offloaded RPC's access-log line says how many statements it ran and
// their database time (one per item would show: the N+1 pattern).
TEST_F(MetricsTest, TheAccessLogCountsEachRpcsStatements) {
  testing::AvesdProcess avesd(database_->conninfo());
  ASSERT_FALSE(avesd.Address().empty());
  testing::CommandResult listed = testing::RunCommand(
      {AVESCTL_PATH, "--addr=" + avesd.Address(), "jobs", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const std::string log = avesd.process().StderrOnceItHas("ListJobs");
  EXPECT_THAT(log, ::testing::ContainsRegex(
                       "method=BatchJobService.ListJobs code=OK ms=[0-9.]+ "
                       "rows=0 statements=1 db_ms=[0-9.]+"));
  // Streams too: a load's statements over all its batches (at least the
  // open, one COPY and the bookkeeping).
  const std::string csv = testing::MakeTempDir() + "/words.csv";
  std::ofstream(csv) << "spanish_term,english_term\nla garza,heron\n";
  testing::CommandResult loaded =
      testing::RunCommand({AVESCTL_PATH, "--addr=" + avesd.Address(), "load",
                           "--table=vocabulary", csv});
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  EXPECT_THAT(avesd.process().StderrOnceItHas("BulkInsertService.Insert"),
              ::testing::ContainsRegex(
                  "method=BulkInsertService.Insert code=OK ms=[0-9.]+ rows=1 "
                  "statements=([3-9]|[1-9][0-9]+) db_ms=[0-9.]+"));
}

// Every prepared statement names itself in a leading comment, so that
// pg_stat_activity (and pg_stat_statements) show which query a backend ran.
TEST_F(MetricsTest, StatementsCarryTheirNameToPostgres) {
  // Nothing else may run on the lookup's connection before the test reads
  // it: the health check every 100 ms once did (a clean clone's failure).
  auto server = testing::InProcessServer::Start(
      database_->conninfo(), [](config::Config& config) {
        config.health_interval = absl::Hours(1);
        config.query_stats_interval = absl::ZeroDuration();
      });
  ASSERT_OK(server);
  auto stub = v1::ExerciseCacheService::NewStub((*server)->channel());
  ASSERT_EQ(
      Lookup(*stub, "3f1e0c9a-58a4-4d0c-9f5e-2b8c1d7e6a40", 3).error_code(),
      grpc::StatusCode::NOT_FOUND);
  pqxx::connection sql(database_->conninfo());
  const pqxx::result rows = pqxx::nontransaction(sql).exec_params(
      "SELECT query FROM pg_stat_activity WHERE datname = $1 AND "
      "application_name = 'avesd' AND query LIKE '/* aves:lookup_exercise%'",
      database_->name());
  ASSERT_FALSE(rows.empty()) << "no avesd backend names lookup_exercise";
  EXPECT_THAT(rows[0][0].as<std::string>(),
              HasSubstr("/* aves:lookup_exercise"));
}

// /readyz says what gRPC health says: not ready while the database is
// away, ready again when it is back (a cluster of the test's own).
TEST_F(MetricsTest, ReadyzFollowsTheDatabase) {
  auto cluster = testing::PrivateCluster::Create();
  ASSERT_OK(cluster);
  testing::CommandResult migrated = testing::RunCommand(
      {AVESD_PATH, "migrate"}, {{"DATABASE_URL", (*cluster)->url()}});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  auto server = testing::InProcessServer::Start((*cluster)->url());
  ASSERT_OK(server);
  const std::string http = (*server)->http_address();
  auto wait_for = [&](int status) {
    int seen = 0;
    for (int i = 0; i < 300 && seen != status; ++i) {
      seen = testing::HttpGet(http, "/readyz").status;
      if (seen != status) absl::SleepFor(absl::Milliseconds(100));
    }
    return seen;
  };
  EXPECT_EQ(wait_for(200), 200);
  ASSERT_OK((*cluster)->Stop());
  EXPECT_EQ(wait_for(503), 503);
  EXPECT_EQ(testing::HttpGet(http, "/healthz").status, 200)
      << "alive all the same";
  ASSERT_OK((*cluster)->Start());
  EXPECT_EQ(wait_for(200), 200);
}

}  // namespace
}  // namespace aves
