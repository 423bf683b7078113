// Plans of slow statements, against a real PostgreSQL: taken with the
// execution's own parameters on its connection, inside the caller's
// transaction without disturbing it, even when the EXPLAIN itself fails.
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "server/db/query_metrics.h"
#include "server/db/timed_exec.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace aves::db {
namespace {

using ::testing::HasSubstr;

class SlowPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateEmpty("slow_plan");
    ASSERT_OK(database);
    database_ = *std::move(database);
    connection_ = database_->Connect();
    pqxx::nontransaction(*connection_)
        .exec("CREATE TABLE birds (id int PRIMARY KEY, name text)");
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::unique_ptr<pqxx::connection> connection_;
};

TEST_F(SlowPlanTest, AFailedExplainLeavesTheTransactionUsable) {
  pqxx::work tx(*connection_);
  tx.exec("INSERT INTO birds VALUES (1, 'heron')");
  absl::StatusOr<std::string> json =
      ExplainJson(tx, [](pqxx::transaction_base& on) {
        return on.exec_params(
            "EXPLAIN (FORMAT JSON) SELECT no_such FROM birds "
            "WHERE id = $1",
            1);
      });
  EXPECT_FALSE(json.ok());
  tx.exec("INSERT INTO birds VALUES (2, 'egret')");  // not aborted
  tx.commit();
  EXPECT_EQ(pqxx::nontransaction(*connection_)
                .exec1("SELECT count(*) FROM birds")[0]
                .as<int>(),
            2);
}

TEST_F(SlowPlanTest, ASlowPreparedStatementIsPlannedWithItsParameters) {
  const std::vector<PreparedStatement> statements = {
      {"bird_by_id", "SELECT name FROM birds WHERE id = $1"},
      {"bird_by_name", "SELECT id FROM birds WHERE name = $1"}};
  for (const PreparedStatement& statement : statements) {
    connection_->prepare(statement.name, statement.sql);
  }
  QueryMetrics metrics(statements);
  metrics.Configure({absl::Microseconds(1), absl::Hours(1), 10});
  pqxx::work tx(*connection_);
  tx.exec("INSERT INTO birds VALUES (1, 'heron')");
  EXPECT_EQ(ExecPrepared(metrics, tx, "bird_by_id", 1).size(), 1u);
  EXPECT_EQ(ExecPrepared(metrics, tx, "bird_by_name", "heron").size(), 1u);
  tx.commit();  // the savepoints are gone; the work is intact

  const std::vector<SlowQuery> kept = metrics.SlowQueries(0);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[1].query, "bird_by_id");
  EXPECT_THAT(kept[1].plan, HasSubstr("on birds"));
  EXPECT_THAT(kept[1].plan, ::testing::Not(HasSubstr("unavailable")));
  EXPECT_EQ(kept[0].query, "bird_by_name");
  EXPECT_THAT(kept[0].plan, HasSubstr("Seq Scan on birds"));
  EXPECT_EQ(kept[0].plan_taken_at, kept[0].finished_at);
}

}  // namespace
}  // namespace aves::db
