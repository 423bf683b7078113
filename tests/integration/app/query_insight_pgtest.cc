// Which query got slow and why, against a real PostgreSQL: slow statements
// are logged and kept with their plans (a dropped index shows as a Seq Scan)
// and never with their parameters; pg_stat_statements deltas name our
// statements with the calls the test ran; without the extension,
// FAILED_PRECONDITION says how to enable it.
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "aves/data/v1/admin.grpc.pb.h"
#include "aves/data/v1/exercise_cache.grpc.pb.h"
#include "client/lib/admin_client.h"
#include "client/lib/batch_job_client.h"
#include "client/lib/channel.h"
#include "tests/support/avesd_process.h"
#include "tests/support/http_get.h"
#include "tests/support/in_process_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace aves {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace v1 = data::v1;

// Values that must never reach a log line.
constexpr char kSecretUser[] = "5ec7e7aa-0b1d-4c2e-9f3a-7d6b5c4e3f21";
constexpr char kSecretTopic[] = "private-topic-4711";

grpc::StatusCode Lookup(v1::ExerciseCacheService::Stub& stub,
                        const std::string& user_id, int difficulty,
                        const char* topic = nullptr) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  v1::GetExerciseRequest request;
  request.set_user_id(user_id);
  request.set_exercise_type("identify");
  request.set_difficulty_level(difficulty);
  if (topic != nullptr) request.set_topic(topic);
  v1::GetExerciseResponse response;
  return stub.GetExercise(&context, request, &response).error_code();
}

std::vector<v1::SlowQuery> SlowOf(const v1::ListSlowQueriesResponse& response,
                                  const std::string& query) {
  std::vector<v1::SlowQuery> found;
  for (const v1::SlowQuery& slow : response.queries()) {
    if (slow.query() == query) found.push_back(slow);
  }
  return found;
}

class QueryInsightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("query_insight");
    ASSERT_OK(database);
    database_ = *std::move(database);
  }

  void Exec(const std::string& sql) {
    pqxx::connection connection(database_->conninfo());
    pqxx::nontransaction(connection).exec(sql);
  }

  std::unique_ptr<testing::TestDatabase> database_;
};

// The lookup's index dropped and the table grown: the lookup is slow, its
// plan names the Seq Scan, and the log has the name, RPC and plan but not
// the user id or topic the caller sent.
TEST_F(QueryInsightTest, ASlowLookupShowsItsSeqScanAndNoParameters) {
  Exec("DROP INDEX idx_exercise_cache_lookup");
  Exec(
      "INSERT INTO exercise_cache (user_id, exercise_type, difficulty_level, "
      "topic, exercise_data) SELECT gen_random_uuid(), 'identify', "
      "1 + i % 5, 'birds', '{}' FROM generate_series(1, 100000) AS i");
  Exec("ANALYZE exercise_cache");
  testing::AvesdProcess avesd(database_->conninfo(),
                              {{"AVES_SLOW_QUERY_MS", "1"}});
  ASSERT_FALSE(avesd.Address().empty());
  auto channel = client::MakeChannel(avesd.Address());
  auto stub = v1::ExerciseCacheService::NewStub(channel);
  ASSERT_EQ(Lookup(*stub, kSecretUser, 2, kSecretTopic),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_EQ(Lookup(*stub, kSecretUser, 3, kSecretTopic),
            grpc::StatusCode::NOT_FOUND);

  client::AdminClient admin(channel);
  absl::StatusOr<v1::ListSlowQueriesResponse> listed = admin.ListSlowQueries();
  ASSERT_OK(listed);
  EXPECT_EQ(listed->capacity(), 100);
  EXPECT_EQ(listed->threshold().nanos(), 1'000'000);
  const std::vector<v1::SlowQuery> lookups =
      SlowOf(*listed, "lookup_exercise_with_topic");
  ASSERT_EQ(lookups.size(), 2u) << listed->DebugString();
  // Newest first: the second lookup carries the first one's plan, taken
  // once per statement per interval.
  const v1::SlowQuery& first = lookups[1];
  const v1::SlowQuery& second = lookups[0];
  EXPECT_EQ(first.rpc(), "ExerciseCacheService.GetExercise");
  EXPECT_THAT(first.plan(), HasSubstr("Seq Scan on exercise_cache"));
  EXPECT_EQ(first.plan_taken_at().seconds(), first.finished_at().seconds());
  EXPECT_EQ(first.plan_taken_at().nanos(), first.finished_at().nanos());
  EXPECT_FALSE(first.failed());
  EXPECT_EQ(second.plan(), first.plan());
  EXPECT_EQ(second.plan_taken_at().nanos(), first.plan_taken_at().nanos());
  EXPECT_GE(listed->total_slow(), 2);

  const std::string log = avesd.process().StderrOnceItHas(
      "slow query: query=lookup_exercise_with_topic");
  EXPECT_THAT(log, ::testing::ContainsRegex(
                       "slow query: query=lookup_exercise_with_topic "
                       "rpc=ExerciseCacheService.GetExercise ms=[0-9.]+ "
                       "rows=0 plan=\"[^\"]*Seq Scan on exercise_cache"));
  EXPECT_THAT(log, Not(HasSubstr(kSecretUser)));
  EXPECT_THAT(log, Not(HasSubstr(kSecretTopic)));

  // The operator's view of the same, in one command.
  testing::CommandResult printed =
      testing::RunCommand({AVESCTL_PATH, "--addr=" + avesd.Address(),
                           "slow-queries", "--limit=100"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_THAT(printed.out, HasSubstr("lookup_exercise_with_topic"));
  EXPECT_THAT(printed.out, HasSubstr("Seq Scan on exercise_cache"));
  testing::CommandResult json = testing::RunCommand(
      {AVESCTL_PATH, "--addr=" + avesd.Address(), "slow-queries", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"plan_taken_at\""));
}

// A plan taken inside an RPC's transaction runs in a savepoint: the RPC's
// own statements still commit, and each write statement has its plan.
TEST_F(QueryInsightTest, PlansInsideTransactionsLeaveThemIntact) {
  auto server = testing::InProcessServer::Start(
      database_->conninfo(), [](config::Config& config) {
        config.slow_query = absl::Microseconds(1);
        config.slow_query_explain_interval = absl::Microseconds(1);
      });
  ASSERT_OK(server);
  client::BatchJobClient jobs((*server)->channel());
  v1::CreateJobRequest create;
  create.set_job_type("ai_annotation");
  create.set_total_items(10);
  absl::StatusOr<v1::Job> job = jobs.CreateJob(create);
  ASSERT_OK(job);
  v1::UpdateJobProgressRequest update;
  update.set_id(job->id());
  update.set_status(v1::JOB_STATUS_PROCESSING);
  update.set_processed_items_delta(4);
  absl::StatusOr<v1::Job> updated = jobs.UpdateJobProgress(update);
  ASSERT_OK(updated);
  EXPECT_EQ(updated->processed_items(), 4);
  EXPECT_EQ(updated->status(), v1::JOB_STATUS_PROCESSING);

  client::AdminClient admin((*server)->channel());
  absl::StatusOr<v1::ListSlowQueriesResponse> listed = admin.ListSlowQueries();
  ASSERT_OK(listed);
  int planned = 0;
  for (const v1::SlowQuery& slow : listed->queries()) {
    if (slow.rpc() != "BatchJobService.UpdateJobProgress") continue;
    EXPECT_THAT(slow.plan(), Not(HasSubstr("unavailable"))) << slow.query();
    EXPECT_FALSE(slow.plan().empty()) << slow.query();
    ++planned;
  }
  EXPECT_GE(planned, 1) << listed->DebugString();

  absl::StatusOr<v1::ListSlowQueriesResponse> one = admin.ListSlowQueries(1);
  ASSERT_OK(one);
  EXPECT_EQ(one->queries_size(), 1);
  EXPECT_THAT(admin.ListSlowQueries(-1).status(),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("limit")));
}

TEST_F(QueryInsightTest, QueryStatsCountTheStatementsRun) {
  auto server = testing::InProcessServer::Start(
      database_->conninfo(), [](config::Config& config) {
        config.query_stats_interval = absl::Hours(1);
        config.cache_max_entries = 0;  // every lookup is a statement
      });
  ASSERT_OK(server);
  client::AdminClient admin((*server)->channel());
  // The first call opens the window.
  ASSERT_OK(admin.GetQueryStats(v1::GetQueryStatsRequest::ORDER_CALLS));
  auto stub = v1::ExerciseCacheService::NewStub((*server)->channel());
  constexpr int kLookups = 7;
  for (int i = 0; i < kLookups; ++i) {
    // One at a time: each goes alone, as lookup_exercise.
    ASSERT_EQ(Lookup(*stub, kSecretUser, 1 + i % 5),
              grpc::StatusCode::NOT_FOUND);
  }
  absl::StatusOr<v1::GetQueryStatsResponse> stats =
      admin.GetQueryStats(v1::GetQueryStatsRequest::ORDER_CALLS, 500);
  ASSERT_OK(stats);
  const v1::QueryStat* lookup = nullptr;
  int64_t previous_calls = INT64_MAX;
  for (const v1::QueryStat& stat : stats->statements()) {
    EXPECT_LE(stat.calls(), previous_calls) << "ordered by calls";
    previous_calls = stat.calls();
    if (stat.query() == "lookup_exercise") lookup = &stat;
  }
  ASSERT_NE(lookup, nullptr) << stats->DebugString();
  EXPECT_EQ(lookup->calls(), kLookups);
  EXPECT_EQ(lookup->rows(), 0);
  EXPECT_THAT(lookup->text(), HasSubstr("/* aves:lookup_exercise */"));
  EXPECT_GT(lookup->total_time().seconds() * 1'000'000'000LL +
                lookup->total_time().nanos(),
            0);
  EXPECT_LE(stats->window_start().seconds(), stats->window_end().seconds());

  // Nothing ran since: the same window counts the same calls (no reset).
  absl::StatusOr<v1::GetQueryStatsResponse> again =
      admin.GetQueryStats(v1::GetQueryStatsRequest::ORDER_TOTAL_TIME, 500);
  ASSERT_OK(again);
  bool seen = false;
  for (const v1::QueryStat& stat : again->statements()) {
    if (stat.query() != "lookup_exercise") continue;
    seen = true;
    EXPECT_EQ(stat.calls(), kLookups);
  }
  EXPECT_TRUE(seen);

  EXPECT_THAT(
      admin.GetQueryStats(v1::GetQueryStatsRequest::ORDER_CALLS, 501).status(),
      testing::StatusIs(absl::StatusCode::kInvalidArgument,
                        HasSubstr("limit")));
  EXPECT_THAT(
      admin.GetQueryStats(static_cast<v1::GetQueryStatsRequest::Order>(42))
          .status(),
      testing::StatusIs(absl::StatusCode::kInvalidArgument,
                        HasSubstr("order_by")));
}

TEST_F(QueryInsightTest, WithoutPgStatStatementsTheCallSaysHowToEnableIt) {
  Exec("DROP EXTENSION IF EXISTS pg_stat_statements");
  testing::AvesdProcess avesd(database_->conninfo());
  ASSERT_FALSE(avesd.Address().empty());
  client::AdminClient admin(client::MakeChannel(avesd.Address()));
  EXPECT_THAT(
      admin.GetQueryStats(v1::GetQueryStatsRequest::ORDER_TOTAL_TIME).status(),
      testing::StatusIs(absl::StatusCode::kFailedPrecondition,
                        HasSubstr("shared_preload_libraries")));
  testing::CommandResult top = testing::RunCommand(
      {AVESCTL_PATH, "--addr=" + avesd.Address(), "top", "--by=calls"});
  EXPECT_NE(top.exit_code, 0);
  EXPECT_THAT(top.err, HasSubstr("CREATE EXTENSION pg_stat_statements"));
}

// Every statement avesd sends names itself in a leading comment, but for
// what libpqxx writes itself (transaction control, SET TRANSACTION READ
// ONLY, COPY, LISTEN): after a
// round of every kind of call, pg_stat_statements holds nothing else.
TEST_F(QueryInsightTest, EveryStatementAvesdSendsNamesItself) {
  pqxx::connection sql(database_->conninfo());
  const std::string dbid =
      pqxx::nontransaction(sql)
          .exec1(
              "SELECT oid::text FROM pg_database WHERE datname = "
              "current_database()")[0]
          .as<std::string>();
  testing::AvesdProcess avesd(database_->conninfo(),
                              {{"AVES_SLOW_QUERY_MS", "1"}});
  ASSERT_FALSE(avesd.Address().empty());
  // Only what avesd sends from here on (this database's entries only).
  pqxx::nontransaction(sql).exec("SELECT pg_stat_statements_reset(0, " + dbid +
                                 ", 0)");
  const std::string addr = "--addr=" + avesd.Address();
  auto avesctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {AVESCTL_PATH, addr});
    testing::CommandResult result = testing::RunCommand(args);
    EXPECT_EQ(result.exit_code, 0) << args[2] << ": " << result.err;
  };
  avesctl({"cache", "put", std::string("--user=") + kSecretUser,
           "--type=identify", "--difficulty=2", "--data={\"a\":1}",
           "--ttl=600"});
  avesctl({"cache", "get", std::string("--user=") + kSecretUser,
           "--type=identify", "--difficulty=2"});
  avesctl({"cache", "purge"});
  avesctl({"jobs", "list"});
  avesctl({"annotations", "queue"});
  avesctl({"migrations"});
  avesctl({"verify-indexes"});
  const std::string dir = testing::MakeTempDir();
  std::ofstream(dir + "/words.csv") << "spanish_term,english_term\n"
                                    << "la garza,heron\nel pico,beak\n";
  avesctl({"load", "--table=vocabulary", dir + "/words.csv"});
  avesctl({"load", "--table=vocabulary", "--atomic", dir + "/words.csv"});
  std::ofstream(dir + "/users.csv") << "email,name\nana@example.org,Ana\n";
  avesctl({"load", "--table=users", "--mode=upsert", "--conflict=email",
           dir + "/users.csv"});
  avesctl({"top"});

  const pqxx::result unnamed = pqxx::nontransaction(sql).exec(
      "SELECT query FROM pg_stat_statements WHERE dbid = " + dbid +
      " AND query NOT LIKE '%/* aves:%' AND query !~* "
      "'^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|COPY|LISTEN|UNLISTEN|"
      "SET TRANSACTION)' AND query NOT LIKE '%pg_stat_statements_reset%'");
  std::string listed;
  for (const pqxx::row& row : unnamed) {
    listed += row[0].as<std::string>() + "\n";
  }
  EXPECT_TRUE(unnamed.empty()) << "statements without a name:\n" << listed;
  const pqxx::result bulk = pqxx::nontransaction(sql).exec(
      "SELECT count(*) FROM pg_stat_statements WHERE dbid = " + dbid +
      " AND query LIKE '/* aves:bulk_%'");
  EXPECT_GT(bulk[0][0].as<int>(), 3);
  // The bulk path's statements are timed under their names too.
  const std::string scrape =
      testing::HttpGet(avesd.HttpAddress(), "/metrics").body;
  for (const char* name :
       {"bulk_open_load", "bulk_copy", "bulk_create_stage", "bulk_move_rows",
        "bulk_publish_offset", "bulk_create_batch_table"}) {
    EXPECT_GT(testing::MetricValue(
                  scrape, absl::StrCat("aves_db_query_duration_seconds_count{"
                                       "query=\"",
                                       name, "\"}")),
              0)
        << name;
  }
}

// avesctl top prints our statements by name.
TEST_F(QueryInsightTest, AvesctlTopNamesOurStatements) {
  testing::AvesdProcess avesd(database_->conninfo());
  ASSERT_FALSE(avesd.Address().empty());
  const std::string addr = "--addr=" + avesd.Address();
  ASSERT_EQ(testing::RunCommand({AVESCTL_PATH, addr, "top"}).exit_code, 0);
  ASSERT_EQ(testing::RunCommand({AVESCTL_PATH, addr, "jobs", "list"}).exit_code,
            0);
  testing::CommandResult top =
      testing::RunCommand({AVESCTL_PATH, addr, "top", "--by=calls"});
  ASSERT_EQ(top.exit_code, 0) << top.err;
  EXPECT_THAT(top.out, HasSubstr("list_jobs_by_statuses"));
  EXPECT_THAT(top.out, HasSubstr("window:"));
  testing::CommandResult bad =
      testing::RunCommand({AVESCTL_PATH, addr, "top", "--by=speed"});
  EXPECT_EQ(bad.exit_code, 2);
}

}  // namespace
}  // namespace aves
