#include "server/handlers/rpc_history.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aves/data/v1/admin.pb.h"

namespace aves::handlers {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// The service's name, read from its descriptor: that links admin.pb.cc
// into this test, so the generated pool knows the service's methods.
const std::string kAdmin = aves::data::v1::GetPoolStatsRequest::descriptor()
                               ->file()
                               ->FindServiceByName("AdminService")
                               ->full_name();

TEST(QuantileBetweenTest, PicksTheBucketOfTheRankBetweenTwoSnapshots) {
  const std::vector<double> bounds = {0.001, 0.01, 0.1};
  // Before: 5 fast calls. After: 5 more fast ones and 95 slow ones (0.1 s).
  const std::vector<uint64_t> before = {5, 5, 5, 5};
  const std::vector<uint64_t> after = {10, 10, 105, 105};
  EXPECT_DOUBLE_EQ(QuantileBetween(bounds, before, after, 0.99), 0.1);
  EXPECT_DOUBLE_EQ(QuantileBetween(bounds, before, after, 0.05), 0.001);
  // Only the difference counts: from zero, the fast ones weigh more.
  EXPECT_DOUBLE_EQ(QuantileBetween(bounds, {}, {50, 50, 60, 60}, 0.5), 0.001);
}

TEST(QuantileBetweenTest, InfinityBucketReportsTheLastBoundAndEmptyIsZero) {
  const std::vector<double> bounds = {0.001, 0.01};
  EXPECT_DOUBLE_EQ(QuantileBetween(bounds, {}, {0, 0, 3}, 0.99), 0.01);
  EXPECT_DOUBLE_EQ(QuantileBetween(bounds, {2, 2, 2}, {2, 2, 2}, 0.99), 0);
}

TEST(RpcHistoryTest, PointsAreTheCallsBetweenNeighbouringSamples) {
  RpcMetrics metrics({kAdmin});
  RpcMetrics::Method* pool =
      metrics.Find("/aves.data.v1.AdminService/GetPoolStats");
  ASSERT_NE(pool, nullptr);
  RpcHistory history(metrics, absl::Seconds(5), 10);
  const absl::Time start = absl::FromUnixSeconds(1'000'000);
  history.Sample(start);
  for (int i = 0; i < 3; ++i) pool->Handled(grpc::StatusCode::OK, 0.0002);
  pool->Handled(grpc::StatusCode::UNAVAILABLE, 0.0002);
  history.Sample(start + absl::Seconds(5));
  // A miss and a caller's cancel are calls, not errors.
  pool->Handled(grpc::StatusCode::NOT_FOUND, 2.0);
  pool->Handled(grpc::StatusCode::CANCELLED, 0.0002);
  pool->Handled(grpc::StatusCode::OK, 2.0);
  history.Sample(start + absl::Seconds(10));

  const std::vector<RpcHistory::MethodSeries> series =
      history.Series(absl::Minutes(1));
  ASSERT_THAT(series, SizeIs(1));  // the uncalled methods are left out
  EXPECT_EQ(series[0].method, "AdminService.GetPoolStats");
  EXPECT_EQ(series[0].requests, 7);
  EXPECT_EQ(series[0].errors, 1);
  EXPECT_EQ(series[0].p99, absl::Milliseconds(2500));  // the 2 s call's bucket
  ASSERT_THAT(series[0].points, SizeIs(2));
  EXPECT_EQ(series[0].points[0].end, start + absl::Seconds(5));
  EXPECT_EQ(series[0].points[0].requests, 4);
  EXPECT_EQ(series[0].points[0].errors, 1);
  EXPECT_EQ(series[0].points[0].p99, absl::Microseconds(250));
  EXPECT_EQ(series[0].points[1].requests, 3);
  EXPECT_EQ(series[0].points[1].errors, 0);
}

TEST(RpcHistoryTest, WindowAndCapacityBoundThePoints) {
  RpcMetrics metrics({kAdmin});
  RpcMetrics::Method* pool =
      metrics.Find("/aves.data.v1.AdminService/GetPoolStats");
  RpcMetrics::Method* cache =
      metrics.Find("/aves.data.v1.AdminService/GetCacheStats");
  RpcHistory history(metrics, absl::Seconds(1), 4);
  const absl::Time start = absl::FromUnixSeconds(1'000'000);
  history.Sample(start);
  EXPECT_THAT(history.Series(absl::Minutes(1)), IsEmpty());  // one sample
  for (int second = 1; second <= 6; ++second) {
    pool->Handled(grpc::StatusCode::OK, 0.001);
    if (second == 1) {
      // Only in the first second: outside a 2 s window at the end.
      for (int i = 0; i < 10; ++i) cache->Handled(grpc::StatusCode::OK, 0.001);
    }
    history.Sample(start + absl::Seconds(second));
  }
  // Capacity 4: points of seconds 3..6 only, and the cache's calls are gone.
  const auto all = history.Series(absl::Minutes(1));
  ASSERT_THAT(all, SizeIs(1));
  EXPECT_EQ(all[0].method, "AdminService.GetPoolStats");
  EXPECT_THAT(all[0].points, SizeIs(4));
  const auto recent = history.Series(absl::Seconds(2));
  ASSERT_THAT(recent, SizeIs(1));
  EXPECT_THAT(
      recent[0].points,
      ElementsAre(Field(&RpcHistory::Point::end, start + absl::Seconds(5)),
                  Field(&RpcHistory::Point::end, start + absl::Seconds(6))));
}

TEST(RpcHistoryTest, BusiestMethodComesFirst) {
  RpcMetrics metrics({kAdmin});
  RpcHistory history(metrics, absl::Seconds(1), 4);
  const absl::Time start = absl::FromUnixSeconds(1'000'000);
  history.Sample(start);
  metrics.Find("/aves.data.v1.AdminService/GetPoolStats")
      ->Handled(grpc::StatusCode::OK, 0.001);
  for (int i = 0; i < 3; ++i) {
    metrics.Find("/aves.data.v1.AdminService/GetCacheStats")
        ->Handled(grpc::StatusCode::OK, 0.001);
  }
  history.Sample(start + absl::Seconds(1));
  EXPECT_THAT(history.Series(absl::Minutes(1)),
              ElementsAre(Field(&RpcHistory::MethodSeries::method,
                                "AdminService.GetCacheStats"),
                          Field(&RpcHistory::MethodSeries::method,
                                "AdminService.GetPoolStats")));
}

}  // namespace
}  // namespace aves::handlers
