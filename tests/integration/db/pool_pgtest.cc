// The pool against a real PostgreSQL: exhaustion, killed backends, restarts,
// deadlines and cancels. Assertions are about outcomes; the only time bounds
// are generous "must not hang" ones.
#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include <absl/synchronization/notification.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "server/db/database.h"
#include "server/db/migrator.h"
#include "tests/support/avesd_process.h"
#include "tests/support/private_cluster.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace aves::db {
namespace {

using common::CallContext;

using ::aves::testing::IsOkAndHolds;
using ::testing::HasSubstr;

template <typename Condition>
bool Eventually(Condition condition, absl::Duration limit = absl::Seconds(30)) {
  const absl::Time give_up = absl::Now() + limit;
  while (absl::Now() < give_up) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return condition();
}

PoolOptions TestOptions(int min, int max) {
  PoolOptions options;
  options.min_connections = min;
  options.max_connections = max;
  options.connect_timeout = absl::Seconds(2);
  options.backoff_initial = absl::Milliseconds(50);
  options.backoff_max = absl::Milliseconds(500);
  return options;
}

CallContext Within(absl::Duration duration) {
  CallContext context;
  context.deadline = absl::Now() + duration;
  context.holder = "pool_pgtest";
  return context;
}

absl::Status Exec(Database& database, const CallContext& context, Access access,
                  const std::string& sql) {
  return database.Run(context, access, [&](pqxx::connection_base& connection) {
    pqxx::nontransaction tx(connection);
    tx.exec(sql);
    return absl::OkStatus();
  });
}

class PoolPgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateEmpty("pool");
    ASSERT_OK(database);
    database_ = *std::move(database);
    admin_ = database_->Connect();
    pqxx::nontransaction(*admin_).exec("CREATE TABLE pool_probe (x int)");
  }

  // Backends of avesd's pool connected to this test's database.
  int64_t Backends(const std::string& extra_condition = "true") {
    pqxx::nontransaction tx(*admin_);
    return tx
        .exec(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = "
            "current_database() "
            "AND application_name = 'avesd' AND " +
            extra_condition)[0][0]
        .as<int64_t>();
  }
  int64_t Running(const std::string& query_prefix) {
    return Backends("state = 'active' AND query LIKE " +
                    admin_->quote(query_prefix + "%"));
  }
  void TerminateBackends(const std::string& extra_condition = "true") {
    pqxx::nontransaction(*admin_).exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname "
        "= "
        "current_database() AND application_name = 'avesd' AND " +
        extra_condition);
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::unique_ptr<pqxx::connection> admin_;
};

TEST_F(PoolPgTest, ExhaustionRefusesPastTheQueueAndNeverExceedsTheMaximum) {
  PoolOptions options = TestOptions(20, 20);
  options.max_waiters = 100;
  options.acquire_timeout = absl::Seconds(60);
  options.query_timeout = absl::Seconds(60);
  Database database(database_->conninfo(), options, {});
  database.Start();
  ASSERT_TRUE(database.pool().WaitUntilReady(absl::Seconds(30)));

  constexpr int kCallers = 200;
  absl::Notification go;
  std::atomic<bool> done{false};
  std::vector<absl::Status> results(kCallers);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      go.WaitForNotification();
      results[i] = Exec(database, Within(absl::Seconds(20)), Access::kRead,
                        "SELECT pg_sleep(1.5)");
    });
  }
  int64_t most_backends = 0;
  std::thread sampler([&] {
    auto connection = database_->Connect();
    while (!done) {
      pqxx::nontransaction tx(*connection);
      most_backends = std::max(most_backends,
                               tx.exec("SELECT count(*) FROM pg_stat_activity "
                                       "WHERE datname = current_database() "
                                       "AND application_name = 'avesd'")[0][0]
                                   .as<int64_t>());
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  go.Notify();
  for (std::thread& caller : callers) caller.join();
  done = true;
  sampler.join();

  std::map<absl::StatusCode, int> codes;
  for (const absl::Status& status : results) codes[status.code()]++;
  EXPECT_EQ(codes[absl::StatusCode::kResourceExhausted], 80);
  EXPECT_EQ(
      codes[absl::StatusCode::kOk] + codes[absl::StatusCode::kDeadlineExceeded],
      120);
  EXPECT_LE(most_backends, 20);
  PoolStats stats = database.pool().Stats();
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.waiting, 0);
  EXPECT_EQ(stats.rejected_full, 80);
}

TEST_F(PoolPgTest, ShortDeadlinesStillQueryOnAnIdleServer) {
  // Calls with 2, 5 or 10 ms left are tried, not refused up front: the
  // watchdog's cancel at the deadline bounds them. Below ~16 ms every call
  // used to be refused with "too little time left". (A call left with under
  // a millisecond by a busy machine may still be refused; not all of them.)
  Database database(database_->conninfo(), TestOptions(1, 2), {});
  database.Start();
  ASSERT_TRUE(database.pool().WaitUntilReady(absl::Seconds(30)));
  for (int ms : {2, 5, 10}) {
    int done = 0;
    for (int i = 0; i < 20; ++i) {
      done += Exec(database, Within(absl::Milliseconds(ms)), Access::kRead,
                   "SELECT 1")
                  .ok();
    }
    EXPECT_GE(done, 1) << ms << " ms";
  }
}

TEST_F(PoolPgTest, KilledIdleConnectionsAreReplacedAndCallersSeeNoError) {
  Database database(database_->conninfo(), TestOptions(5, 10), {});
  database.Start();
  ASSERT_TRUE(database.pool().WaitUntilReady(absl::Seconds(30)));
  ASSERT_EQ(Backends(), 5);
  TerminateBackends();
  ASSERT_TRUE(Eventually([&] { return Backends() == 0; }));
  for (int i = 0; i < 50; ++i) {
    EXPECT_OK(
        Exec(database, Within(absl::Seconds(10)), Access::kRead, "SELECT 1"));
  }
  EXPECT_TRUE(Eventually([&] { return database.pool().Stats().total >= 5; }));
  PoolStats stats = database.pool().Stats();
  EXPECT_GE(stats.opened, 6);
}

TEST_F(PoolPgTest, KilledBusyReadsAreRetriedOnceOnAFreshConnection) {
  Database database(database_->conninfo(), TestOptions(5, 10), {});
  database.Start();
  ASSERT_TRUE(database.pool().WaitUntilReady(absl::Seconds(30)));
  std::vector<absl::Status> results(5);
  std::vector<std::thread> readers;
  for (int i = 0; i < 5; ++i) {
    readers.emplace_back([&, i] {
      results[i] = Exec(database, Within(absl::Seconds(30)), Access::kRead,
                        "SELECT pg_sleep(1)");
    });
  }
  ASSERT_TRUE(Eventually([&] { return Running("SELECT pg_sleep(1)") == 5; }));
  TerminateBackends("query LIKE 'SELECT pg_sleep(1)%'");
  for (std::thread& reader : readers) reader.join();
  for (const absl::Status& status : results) EXPECT_OK(status);
  EXPECT_GE(database.pool().Stats().discarded["broken"], 1);
}

TEST_F(PoolPgTest, AKilledWriteIsReportedAndNeverRetried) {
  Database database(database_->conninfo(), TestOptions(1, 2), {});
  database.Start();
  ASSERT_TRUE(database.pool().WaitUntilReady(absl::Seconds(30)));
  std::atomic<int> runs{0};
  absl::Status result;
  std::thread writer([&] {
    result = database.Run(Within(absl::Seconds(30)), Access::kWrite,
                          [&](pqxx::connection_base& c) {
                            ++runs;
                            pqxx::work tx(c);
                            tx.exec("INSERT INTO pool_probe VALUES (1)");
                            tx.exec("SELECT pg_sleep(2)");
                            tx.commit();
                            return absl::OkStatus();
                          });
  });
  ASSERT_TRUE(Eventually([&] { return Running("SELECT pg_sleep(2)") == 1; }));
  TerminateBackends("query LIKE 'SELECT pg_sleep(2)%'");
  writer.join();
  EXPECT_THAT(result, testing::StatusIs(
                          absl::StatusCode::kUnavailable,
                          HasSubstr("not committed and was not retried")));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(pqxx::nontransaction(*admin_)
                .exec("SELECT count(*) FROM pool_probe")[0][0]
                .as<int>(),
            0);
}

TEST_F(PoolPgTest, ADeadlineStopsTheQueryOnTheServer) {
  Database database(database_->conninfo(), TestOptions(1, 2), {});
  database.Start();
  ASSERT_TRUE(database.pool().WaitUntilReady(absl::Seconds(30)));
  const absl::Time start = absl::Now();
  absl::Status status = Exec(database, Within(absl::Milliseconds(200)),
                             Access::kRead, "SELECT pg_sleep(5)");
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_LT(absl::Now() - start, absl::Seconds(4))
      << "well before the 5 s sleep ends";
  EXPECT_TRUE(Eventually([&] { return Running("SELECT pg_sleep(5)") == 0; },
                         absl::Seconds(3)));
  EXPECT_OK(
      Exec(database, Within(absl::Seconds(5)), Access::kRead, "SELECT 1"));
}

TEST_F(PoolPgTest, TheWatchdogCancelsAQueryTheServerWouldLetRun) {
  // The statement disables the server-side timeout for itself, so only the
  // client-side cancel at the deadline can stop it.
  Database database(database_->conninfo(), TestOptions(1, 2), {});
  database.Start();
  ASSERT_TRUE(database.pool().WaitUntilReady(absl::Seconds(30)));
  absl::Status status =
      database.Run(Within(absl::Milliseconds(300)), Access::kRead,
                   [](pqxx::connection_base& connection) {
                     pqxx::work tx(connection);
                     tx.exec("SET LOCAL statement_timeout = 0");
                     tx.exec("SELECT pg_sleep(5)");
                     return absl::OkStatus();
                   });
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("cancelled on the server"));
  EXPECT_TRUE(Eventually([&] { return Running("SELECT pg_sleep(5)") == 0; },
                         absl::Seconds(3)));
  PoolStats stats = database.pool().Stats();
  EXPECT_EQ(stats.cancels, 1);
  EXPECT_EQ(stats.discarded["cancelled"], 1);
}

TEST_F(PoolPgTest, ACallerThatCancelsStopsItsQueryAndFreesTheConnection) {
  Database database(database_->conninfo(), TestOptions(1, 2), {});
  database.Start();
  ASSERT_TRUE(database.pool().WaitUntilReady(absl::Seconds(30)));
  std::atomic<bool> gone{false};
  CallContext context = Within(absl::Seconds(60));
  context.cancelled = [&gone] { return gone.load(); };
  absl::Status status;
  std::thread caller([&] {
    status = Exec(database, context, Access::kRead, "SELECT pg_sleep(5)");
  });
  ASSERT_TRUE(Eventually([&] { return Running("SELECT pg_sleep(5)") == 1; }));
  gone = true;
  caller.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  EXPECT_TRUE(Eventually([&] { return Running("SELECT pg_sleep(5)") == 0; },
                         absl::Seconds(3)));
  EXPECT_EQ(database.pool().Stats().in_use, 0);
}

TEST_F(PoolPgTest, AFailedCallLeavesNoTransactionOrSettingBehind) {
  Database database(database_->conninfo(), TestOptions(1, 1),
                    {});  // one connection
  database.Start();
  ASSERT_TRUE(database.pool().WaitUntilReady(absl::Seconds(30)));
  absl::Status dirty = database.Run(
      Within(absl::Seconds(10)), Access::kWrite, [](pqxx::connection_base& c) {
        pqxx::nontransaction tx(c);
        tx.exec("SET application_name = 'dirty'");
        tx.exec("BEGIN");
        tx.exec("CREATE TEMP TABLE dirty_marker (x int)");
        return absl::InvalidArgumentError("the caller gave up half-way");
      });
  EXPECT_EQ(dirty.code(), absl::StatusCode::kInvalidArgument);
  std::string application_name;
  bool marker_gone = false;
  EXPECT_OK(database.Run(
      Within(absl::Seconds(10)), Access::kRead, [&](pqxx::connection_base& c) {
        pqxx::nontransaction tx(c);
        application_name =
            tx.exec("SELECT current_setting('application_name')")[0][0]
                .as<std::string>();
        marker_gone =
            tx.exec("SELECT to_regclass('pg_temp.dirty_marker') IS NULL")[0][0]
                .as<bool>();
        return absl::OkStatus();
      }));
  EXPECT_EQ(application_name, "avesd");
  EXPECT_TRUE(marker_gone) << "the open transaction was rolled back";
  EXPECT_EQ(database.pool().Stats().opened, 1)
      << "the same connection, cleaned, not a new one";
}

TEST(PoolRestartTest, SurvivesAPostgresRestartUnderLoad) {
  auto cluster = testing::PrivateCluster::Create();
  ASSERT_OK(cluster);
  Database database((*cluster)->url(), TestOptions(5, 10), {});
  database.Start();
  ASSERT_TRUE(database.pool().WaitUntilReady(absl::Seconds(30)));

  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::map<absl::StatusCode, int> codes;
  absl::Duration slowest;
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&] {
      while (!stop) {
        const absl::Time start = absl::Now();
        absl::Status status =
            Exec(database, Within(absl::Seconds(2)), Access::kRead, "SELECT 1");
        std::lock_guard<std::mutex> lock(mutex);
        codes[status.code()]++;
        slowest = std::max(slowest, absl::Now() - start);
        if (!status.ok()) {
          EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
        }
        absl::SleepFor(absl::Milliseconds(5));
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_OK((*cluster)->Restart());
  // Back to DB_POOL_MIN by itself, and serving reads again.
  EXPECT_TRUE(Eventually([&] {
    PoolStats stats = database.pool().Stats();
    return stats.total >= 5 && stats.database_reachable;
  }));
  const int ok_before = [&] {
    std::lock_guard<std::mutex> lock(mutex);
    return codes[absl::StatusCode::kOk];
  }();
  EXPECT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return codes[absl::StatusCode::kOk] > ok_before + 20;
  }));
  stop = true;
  for (std::thread& thread : load) thread.join();
  EXPECT_LT(slowest, absl::Seconds(3))
      << "no call may hang past its 2 s deadline";
  EXPECT_GE(database.pool().Stats().opened, 6);
}

TEST(PoolRestartTest, AvesdStartsWithoutTheDatabaseAndServesOnceItAppears) {
  auto cluster = testing::PrivateCluster::Create();
  ASSERT_OK(cluster);
  auto migrations = BuiltInMigrations();
  ASSERT_OK(migrations);
  ASSERT_OK(Migrator((*cluster)->url(), *migrations).Migrate());
  ASSERT_OK((*cluster)->Stop());

  testing::AvesdProcess avesd((*cluster)->url(),
                              {{"DB_CONNECT_TIMEOUT", "2000"}});
  ASSERT_FALSE(avesd.Address().empty()) << avesd.process().Stderr();
  EXPECT_THAT(avesd.WaitForHealth(client::ServingStatus::kNotServing),
              IsOkAndHolds(client::ServingStatus::kNotServing));

  ASSERT_OK((*cluster)->Start());
  EXPECT_THAT(avesd.WaitForHealth(client::ServingStatus::kServing),
              IsOkAndHolds(client::ServingStatus::kServing));

  // And back: NOT_SERVING during an outage, SERVING after it.
  ASSERT_OK((*cluster)->Stop());
  EXPECT_THAT(avesd.WaitForHealth(client::ServingStatus::kNotServing),
              IsOkAndHolds(client::ServingStatus::kNotServing));
  ASSERT_OK((*cluster)->Start());
  EXPECT_THAT(avesd.WaitForHealth(client::ServingStatus::kServing),
              IsOkAndHolds(client::ServingStatus::kServing));
  avesd.process().Signal(SIGTERM);
  EXPECT_EQ(avesd.process().Wait(absl::Seconds(30)), 0)
      << avesd.process().Stderr();
}

}  // namespace
}  // namespace aves::db
