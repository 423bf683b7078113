// avesd and avesctl as a user runs them: real binaries, a real PostgreSQL.
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "aves/data/v1/admin.grpc.pb.h"
#include "aves/data/v1/batch_jobs.grpc.pb.h"
#include "client/lib/admin_client.h"
#include "client/lib/channel.h"
#include "client/lib/health_client.h"
#include "tests/support/avesd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace aves {
namespace {

using ::aves::testing::StatusIs;
using client::ServingStatus;
using ::testing::HasSubstr;
using testing::RunCommand;
using testing::Subprocess;

// No database listens on port 1 of loopback.
constexpr char kUnreachableDatabase[] =
    "postgresql://aves:nope@127.0.0.1:1/aves?connect_timeout=1";

using RunningServer = testing::AvesdProcess;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateEmpty("server");
    ASSERT_OK(database);
    database_ = *std::move(database);
  }
  std::unique_ptr<testing::TestDatabase> database_;
};

TEST_F(ServerTest, HealthFollowsTheSchemaAndShutdownIsGraceful) {
  RunningServer server(database_->conninfo());
  const std::string address = server.Address();
  ASSERT_FALSE(address.empty()) << server.process().Stderr();

  // Reachable database, unmigrated schema: up, but NOT_SERVING.
  EXPECT_THAT(server.WaitForHealth(ServingStatus::kNotServing),
              testing::IsOkAndHolds(ServingStatus::kNotServing));
  testing::CommandResult not_serving =
      RunCommand({AVESCTL_PATH, "--addr=" + address, "health"});
  EXPECT_EQ(not_serving.exit_code, 1);
  EXPECT_EQ(not_serving.out, "NOT_SERVING\n");
  // Each service is reported under its own name, flipped with the whole.
  client::HealthClient health(client::MakeChannel(address));
  const std::vector<std::string> service_names = {
      "aves.data.v1.AdminService", "aves.data.v1.ExerciseCacheService",
      "aves.data.v1.BatchJobService", "aves.data.v1.AnnotationService",
      "aves.data.v1.BulkInsertService"};
  for (const std::string& name : service_names) {
    EXPECT_THAT(health.Check(name),
                testing::IsOkAndHolds(ServingStatus::kNotServing))
        << name;
  }
  EXPECT_THAT(health.Check("aves.data.v1.NoSuchService"),
              StatusIs(absl::StatusCode::kNotFound));

  testing::CommandResult migrate = RunCommand(
      {AVESD_PATH, "migrate"}, {{"DATABASE_URL", database_->conninfo()}});
  ASSERT_EQ(migrate.exit_code, 0) << migrate.err;
  EXPECT_EQ(migrate.out, "applied 21 migration(s)\n");

  EXPECT_THAT(server.WaitForHealth(ServingStatus::kServing),
              testing::IsOkAndHolds(ServingStatus::kServing));
  testing::CommandResult serving =
      RunCommand({AVESCTL_PATH, "health"}, {{"AVES_ADDR", address}});
  EXPECT_EQ(serving.exit_code, 0) << serving.err;
  EXPECT_EQ(serving.out, "SERVING\n");
  for (const std::string& name : service_names) {
    EXPECT_THAT(health.Check(name),
                testing::IsOkAndHolds(ServingStatus::kServing))
        << name;
  }

  // AdminService reports the schema it just saw migrated.
  auto stub = data::v1::AdminService::NewStub(client::MakeChannel(address));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  data::v1::GetMigrationStatusResponse response;
  grpc::Status status = stub->GetMigrationStatus(&context, {}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.schema_current());
  ASSERT_EQ(response.migrations_size(), 21);
  EXPECT_EQ(response.migrations(8).name(), "optimize_cache_indexes");
  EXPECT_TRUE(response.migrations(8).no_transaction());
  EXPECT_TRUE(response.migrations(8).applied());

  // Pool statistics, through the library and through avesctl.
  client::AdminClient admin(client::MakeChannel(address));
  absl::StatusOr<data::v1::GetPoolStatsResponse> pool = admin.GetPoolStats();
  ASSERT_OK(pool);
  EXPECT_GE(pool->total(), 5);
  EXPECT_EQ(pool->min(), 5);
  EXPECT_EQ(pool->max(), 20);
  EXPECT_TRUE(pool->database_reachable());
  EXPECT_GE(pool->acquired(), 1)
      << "health checks and GetMigrationStatus went through it";
  EXPECT_GE(pool->query_time().count(), 1);
  testing::CommandResult pool_json =
      RunCommand({AVESCTL_PATH, "--addr=" + address, "pool", "--json"});
  EXPECT_EQ(pool_json.exit_code, 0) << pool_json.err;
  EXPECT_THAT(pool_json.out, HasSubstr("\"max\": 20"));
  EXPECT_THAT(pool_json.out, HasSubstr("\"database_reachable\": true"));
  testing::CommandResult pool_table =
      RunCommand({AVESCTL_PATH, "--addr=" + address, "pool"});
  EXPECT_EQ(pool_table.exit_code, 0) << pool_table.err;
  EXPECT_THAT(pool_table.out, HasSubstr("connections opened"));
  EXPECT_THAT(pool_table.out, HasSubstr("acquire wait"));
  testing::CommandResult migrations =
      RunCommand({AVESCTL_PATH, "--addr=" + address, "migrations"});
  EXPECT_EQ(migrations.exit_code, 0) << migrations.err;
  EXPECT_THAT(migrations.out, HasSubstr("optimize_cache_indexes"));
  EXPECT_THAT(migrations.out, HasSubstr("schema current"));

  server.process().Signal(SIGTERM);
  EXPECT_EQ(server.process().Wait(absl::Seconds(30)), 0)
      << server.process().Stderr();
  EXPECT_THAT(server.process().Stderr(), HasSubstr("shutting down"));
  // Started with the defaults: nothing to warn about.
  EXPECT_THAT(server.process().Stderr(),
              ::testing::Not(HasSubstr("warning [config]")));
  EXPECT_THAT(server.process().Stderr(), HasSubstr("info [config]"));
}

TEST_F(ServerTest, ServeMigrateFlagMigratesBeforeServing) {
  Subprocess process({AVESD_PATH, "serve", "--migrate", "--listen=127.0.0.1:0"},
                     {{"DATABASE_URL", database_->conninfo()}});
  // It serves only after migrating; the status command proves the schema.
  testing::CommandResult status;
  for (int i = 0; i < 300; ++i) {
    status = RunCommand({AVESD_PATH, "migrate", "--status"},
                        {{"DATABASE_URL", database_->conninfo()}});
    if (status.exit_code == 0) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_THAT(status.out, HasSubstr("schema current"));
  process.Signal(SIGINT);
  EXPECT_EQ(process.Wait(absl::Seconds(30)), 0) << process.Stderr();
}

// An orchestrator may stop avesd while it is still migrating or starting:
// it must exit cleanly (0), never die of the signal's default action.
TEST_F(ServerTest, AShutdownSignalDuringStartupEndsItCleanly) {
  Subprocess process(
      {AVESD_PATH, "serve", "--migrate", "--listen=127.0.0.1:0"},
      {{"DATABASE_URL", database_->conninfo()}, {"AVES_PAGE_TOKEN_KEY", ""}});
  // Its first line (a warning, written at once) comes before migrating.
  ASSERT_THAT(process.StderrOnceItHas("AVES_PAGE_TOKEN_KEY is not set"),
              HasSubstr("AVES_PAGE_TOKEN_KEY is not set"));
  process.Signal(SIGTERM);
  EXPECT_EQ(process.Wait(absl::Seconds(30)), 0) << process.Stderr();
  // Either it was still migrating (and never served) or it had started.
  EXPECT_THAT(process.Stderr(),
              ::testing::AnyOf(HasSubstr("while migrating; not serving"),
                               HasSubstr("shutting down")));
}

TEST_F(ServerTest, MigrateStatusListsPendingFilesAndExitsNonZero) {
  testing::CommandResult status =
      RunCommand({AVESD_PATH, "migrate", "--status"},
                 {{"DATABASE_URL", database_->conninfo()}});
  EXPECT_EQ(status.exit_code, 3);
  EXPECT_THAT(status.out,
              HasSubstr("optimize_cache_indexes           pending"));
  EXPECT_THAT(status.out, HasSubstr("schema NOT current"));
  // The same through --database_url works, with a warning: ps shows it.
  testing::CommandResult flag =
      RunCommand({AVESD_PATH, "migrate", "--status",
                  "--database_url=" + database_->conninfo()},
                 {{"DATABASE_URL", ""}});
  EXPECT_EQ(flag.exit_code, 3) << flag.err;
  EXPECT_THAT(flag.err,
              HasSubstr("warning [config] --database_url is visible"));
  EXPECT_THAT(status.err, ::testing::Not(HasSubstr("--database_url")));
}

TEST_F(ServerTest, NotServingWhileTheDatabaseIsUnreachable) {
  RunningServer server(kUnreachableDatabase);
  ASSERT_FALSE(server.Address().empty()) << server.process().Stderr();
  EXPECT_THAT(server.WaitForHealth(ServingStatus::kNotServing),
              testing::IsOkAndHolds(ServingStatus::kNotServing));
  EXPECT_THAT(server.process().Stderr(), HasSubstr("database unreachable"));
  EXPECT_THAT(server.process().Stderr(),
              ::testing::Not(HasSubstr("nope")));  // password
  // Callers are told why, not where: the host, port and user stay in the
  // log.
  client::AdminClient admin(client::MakeChannel(server.Address()));
  absl::StatusOr<data::v1::GetPoolStatsResponse> pool = admin.GetPoolStats();
  ASSERT_OK(pool);
  EXPECT_FALSE(pool->database_reachable());
  EXPECT_EQ(pool->last_connect_error(), "connection refused");
  EXPECT_THAT(server.process().Stderr(), HasSubstr("127.0.0.1"))
      << "the log keeps the detail";
  server.process().Signal(SIGTERM);
  EXPECT_EQ(server.process().Wait(absl::Seconds(30)), 0);
}

TEST_F(ServerTest, AForeignNotificationCannotForgeOrFloodTheLog) {
  testing::CommandResult migrate = RunCommand(
      {AVESD_PATH, "migrate"}, {{"DATABASE_URL", database_->conninfo()}});
  ASSERT_EQ(migrate.exit_code, 0) << migrate.err;
  RunningServer server(database_->conninfo());
  ASSERT_THAT(server.WaitForHealth(ServingStatus::kServing),
              testing::IsOkAndHolds(ServingStatus::kServing));
  // Any role that may connect can NOTIFY the feed's channel.
  const std::string forged =
      "junk\n2026-12-02T00:00:00.000+00:00 error [server] FORGED " +
      std::string(5000, 'x');
  pqxx::nontransaction(*database_->Connect())
      .exec_params("SELECT pg_notify('aves_batch_jobs', $1)", forged);
  const std::string log =
      server.process().StderrOnceItHas("ignoring a malformed notification");
  EXPECT_THAT(log, HasSubstr("junk\\n2026"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("\n2026-12-02T00:00:00.000")));
  EXPECT_THAT(log, ::testing::Not(HasSubstr(std::string(200, 'x'))));
  EXPECT_THAT(log, HasSubstr("(cut)"));
}

// A client that gives up on a call: its query stops on the server, and avesd
// records the call as CANCELLED — not as a deadline, nor an error of its own.
TEST_F(ServerTest, ACallTheClientCancelsIsCancelledOnTheServerToo) {
  testing::CommandResult migrate = RunCommand(
      {AVESD_PATH, "migrate"}, {{"DATABASE_URL", database_->conninfo()}});
  ASSERT_EQ(migrate.exit_code, 0) << migrate.err;
  RunningServer server(database_->conninfo());
  ASSERT_THAT(server.WaitForHealth(ServingStatus::kServing),
              testing::IsOkAndHolds(ServingStatus::kServing));
  // The jobs table locked: ListJobs waits on the lock until cancelled.
  std::unique_ptr<pqxx::connection> holder = database_->Connect();
  pqxx::work lock(*holder);
  lock.exec("LOCK TABLE batch_jobs IN ACCESS EXCLUSIVE MODE");
  std::unique_ptr<pqxx::connection> observer = database_->Connect();
  const auto waiting = [&] {
    return pqxx::nontransaction(*observer)
        .exec1(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
            "'Lock' AND query LIKE '%batch_jobs%' AND pid <> "
            "pg_backend_pid()")[0]
        .as<int>();
  };
  auto stub =
      data::v1::BatchJobService::NewStub(client::MakeChannel(server.Address()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
  grpc::Status status;
  std::thread caller([&] {
    data::v1::ListJobsResponse response;
    status = stub->ListJobs(&context, {}, &response);
  });
  for (int i = 0; i < 300 && waiting() == 0; ++i)
    absl::SleepFor(absl::Milliseconds(20));
  ASSERT_EQ(waiting(), 1) << "ListJobs never reached the lock";
  context.TryCancel();
  caller.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  // The query was cancelled on the server while the lock is still held.
  for (int i = 0; i < 300 && waiting() > 0; ++i)
    absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(waiting(), 0);
  const std::string log =
      server.process().StderrOnceItHas("method=BatchJobService.ListJobs code=");
  EXPECT_THAT(log, HasSubstr("method=BatchJobService.ListJobs code=CANCELLED"));
  EXPECT_THAT(log, HasSubstr("the caller cancelled"));
}

TEST_F(ServerTest, MigrateFailsClearlyWhenTheDatabaseIsUnreachable) {
  testing::CommandResult result = RunCommand(
      {AVESD_PATH, "migrate"}, {{"DATABASE_URL", kUnreachableDatabase}});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(result.err, HasSubstr("database unreachable"));
}

TEST(AvesctlTest, HelpAndUnreachableServer) {
  testing::CommandResult help = RunCommand({AVESCTL_PATH, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("health"));
  testing::CommandResult down =
      RunCommand({AVESCTL_PATH, "--addr=127.0.0.1:1", "--timeout=1", "health"});
  EXPECT_EQ(down.exit_code, 2);
  EXPECT_THAT(down.err, HasSubstr("UNAVAILABLE"));
  testing::CommandResult bad = RunCommand({AVESCTL_PATH, "frobnicate"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("unknown command"));
}

TEST(AvesdTest, InvalidConfigurationStopsStartUpNamingTheVariable) {
  testing::CommandResult result =
      RunCommand({AVESD_PATH, "serve"}, {{"AVES_HEALTH_INTERVAL_MS", "often"}});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("AVES_HEALTH_INTERVAL_MS"));
  testing::CommandResult usage = RunCommand({AVESD_PATH});
  EXPECT_EQ(usage.exit_code, 2);
}

}  // namespace
}  // namespace aves
