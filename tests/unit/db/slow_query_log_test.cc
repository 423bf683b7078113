// The slow-query log's pure parts: a plan as one line, the ring of the last
// N, one plan per statement per interval, and the names pg_stat_statements
// texts carry.
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/db/query_metrics.h"
#include "server/store/query_stats.h"

namespace aves::db {
namespace {

using ::testing::HasSubstr;

constexpr char kNestedPlan[] = R"([{"Plan": {
  "Node Type": "Nested Loop", "Plan Rows": 12.0, "Plans": [
    {"Node Type": "Index Scan", "Index Name": "idx_a", "Relation Name": "a",
     "Plan Rows": 3.0},
    {"Node Type": "Materialize", "Plan Rows": 4.0, "Plans": [
      {"Node Type": "Seq Scan", "Relation Name": "b", "Plan Rows": 4.0}]}
  ]}}])";

TEST(SummarizePlanTest, ChildrenInParenthesesSiblingsByCommas) {
  EXPECT_EQ(SummarizePlan(kNestedPlan),
            "Nested Loop rows=12 (Index Scan using idx_a on a rows=3, "
            "Materialize rows=4 (Seq Scan on b rows=4))");
}

TEST(SummarizePlanTest, OutputNotUnderstoodSaysSo) {
  EXPECT_THAT(SummarizePlan("not json"), HasSubstr("unavailable"));
  EXPECT_THAT(SummarizePlan("[]"), HasSubstr("unavailable"));
}

TEST(SummarizePlanTest, AHugePlanIsCutAtOneKibibyte) {
  std::string plan = R"([{"Plan": {"Node Type": "Append", "Plans": [)";
  for (int i = 0; i < 200; ++i) {
    plan += std::string(i ? "," : "") +
            R"({"Node Type": "Seq Scan", "Relation Name": "part)" +
            std::to_string(i) + R"("})";
  }
  plan += "]}}]";
  const std::string summary = SummarizePlan(plan);
  EXPECT_EQ(summary.size(), 1024u);
  EXPECT_THAT(summary, ::testing::EndsWith("..."));
}

QueryMetrics::PlanSource* const kNoPlan = nullptr;

TEST(SlowQueryLogTest, KeepsTheNewestFirstUpToItsSize) {
  QueryMetrics metrics(std::vector<PreparedStatement>{{"q", "SELECT 1"}});
  metrics.Configure({absl::Milliseconds(1), absl::ZeroDuration(), 3});
  for (int rows = 1; rows <= 5; ++rows) {
    metrics.Record("q", absl::Milliseconds(2), "", rows, kNoPlan);
  }
  metrics.Record("q", absl::Microseconds(500), "", 99, kNoPlan);  // fast
  const auto kept = metrics.SlowQueries(0);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].rows, 5);
  EXPECT_EQ(kept[1].rows, 4);
  EXPECT_EQ(kept[2].rows, 3);
  EXPECT_EQ(metrics.total_slow(), 5);
  EXPECT_EQ(metrics.SlowQueries(2).size(), 2u);
}

TEST(SlowQueryLogTest, OnePlanPerStatementPerInterval) {
  QueryMetrics metrics({{"q", "SELECT $1"}, {"r", "SELECT 2"}});
  metrics.Configure({absl::Milliseconds(1), absl::Hours(1), 10});
  int plans_taken = 0;
  std::string sql_seen;
  auto plan = [&](const std::string& sql) -> absl::StatusOr<std::string> {
    ++plans_taken;
    sql_seen = sql;
    return std::string(
        R"([{"Plan": {"Node Type": "Result", "Plan Rows": 1}}])");
  };
  const QueryMetrics::PlanSource source(plan);
  metrics.Record("q", absl::Milliseconds(5), "", 1, &source);
  metrics.Record("q", absl::Milliseconds(5), "", 1, &source);
  metrics.Record("r", absl::Milliseconds(5), "", 1, &source);
  EXPECT_EQ(plans_taken, 2) << "q once, r once";
  EXPECT_EQ(sql_seen,
            "/* aves:explain */ EXPLAIN (FORMAT JSON) /* aves:r */ SELECT 2");
  const auto kept = metrics.SlowQueries(0);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[1].query, "q");
  EXPECT_EQ(kept[1].plan, "Result rows=1");  // the latest, carried over
  EXPECT_LT(kept[1].plan_taken_at, kept[1].finished_at);
  EXPECT_EQ(kept[2].plan_taken_at, kept[2].finished_at);
}

TEST(SlowQueryLogTest, AFailedStatementIsKeptWithoutAPlan) {
  QueryMetrics metrics(std::vector<PreparedStatement>{{"q", "SELECT 1"}});
  metrics.Configure({absl::Milliseconds(1), absl::Hours(1), 10});
  int plans_taken = 0;
  auto plan = [&](const std::string&) -> absl::StatusOr<std::string> {
    ++plans_taken;
    return std::string("[]");
  };
  const QueryMetrics::PlanSource source(plan);
  metrics.Record("q", absl::Milliseconds(5), "57", 0, &source);
  EXPECT_EQ(plans_taken, 0) << "a failed statement's transaction may be gone";
  const auto kept = metrics.SlowQueries(0);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_TRUE(kept[0].failed);
  EXPECT_EQ(kept[0].plan, "");
}

TEST(QueryStatsNameTest, TheLeadingCommentNamesOurs) {
  using store::QueryStats;
  EXPECT_EQ(QueryStats::NameFromText("/* aves:get_job */ SELECT 1"), "get_job");
  EXPECT_EQ(QueryStats::NameFromText("PREPARE x AS /* aves:get_job */ SELECT"),
            "get_job");
  EXPECT_EQ(QueryStats::NameFromText("SELECT 1 /* other */"), "");
  EXPECT_EQ(QueryStats::NameFromText("/* aves:Bad-Name */ SELECT"), "");
}

}  // namespace
}  // namespace aves::db
