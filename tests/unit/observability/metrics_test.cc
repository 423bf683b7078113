// The exposition format's details that a scraper relies on: headers before
// samples, escaping, cumulative histogram buckets with +Inf, _sum, _count.
#include "server/observability/metrics.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/observability/latency_histogram.h"

namespace aves::observability {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CountersAndGaugesRenderWithTheirHeaders) {
  Counter requests;
  requests.Add();
  requests.Add(2);
  Gauge open;
  open.Set(5);
  open.Add(-2);
  MetricsRegistry registry;
  registry.Add([&](Exposition& out) {
    out.Family("aves_requests_total", Exposition::Type::kCounter, "Requests.");
    out.Sample("aves_requests_total", {{"method", "Get"}}, requests.value());
    out.Family("aves_open", Exposition::Type::kGauge, "Open things.");
    out.Sample("aves_open", {}, open.value());
  });
  EXPECT_EQ(registry.Render(),
            "# HELP aves_requests_total Requests.\n"
            "# TYPE aves_requests_total counter\n"
            "aves_requests_total{method=\"Get\"} 3\n"
            "# HELP aves_open Open things.\n"
            "# TYPE aves_open gauge\n"
            "aves_open 3\n");
}

TEST(MetricsTest, LabelValuesAndHelpAreEscaped) {
  Exposition out;
  out.Family("x", Exposition::Type::kGauge, "line\nbreak \\ here");
  out.Sample("x", {{"v", "a\"b\\c\nd"}}, 0.5);
  EXPECT_EQ(out.Take(),
            "# HELP x line\\nbreak \\\\ here\n"
            "# TYPE x gauge\n"
            "x{v=\"a\\\"b\\\\c\\nd\"} 0.5\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Histogram histogram({0.1, 1});
  histogram.Observe(0.05);
  histogram.Observe(0.1);  // on the bound: counts as <= 0.1
  histogram.Observe(0.5);
  histogram.Observe(7);
  const HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_THAT(snapshot.cumulative, ::testing::ElementsAre(2, 3, 4));
  EXPECT_NEAR(snapshot.sum, 7.65, 1e-6);
  Exposition out;
  out.Family("d_seconds", Exposition::Type::kHistogram, "Durations.");
  out.Histogram("d_seconds", {{"m", "Get"}}, snapshot);
  const std::string text = out.Take();
  EXPECT_THAT(text, HasSubstr("d_seconds_bucket{m=\"Get\",le=\"0.1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("d_seconds_bucket{m=\"Get\",le=\"1\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("d_seconds_bucket{m=\"Get\",le=\"+Inf\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("d_seconds_sum{m=\"Get\"} 7.65"));
  EXPECT_THAT(text, HasSubstr("d_seconds_count{m=\"Get\"} 4\n"));
}

// The pool's fine histogram (5% buckets) seen as a Prometheus one.
TEST(MetricsTest, ALatencyHistogramExportsCumulativeBucketsAndAnExactSum) {
  LatencyHistogram fine;
  fine.Record(absl::Microseconds(100));  // well under 0.5 ms
  fine.Record(absl::Microseconds(400));
  fine.Record(absl::Milliseconds(3));  // between 2.5 ms and 5 ms
  fine.Record(absl::Seconds(30));      // past every bound
  const HistogramSnapshot snapshot =
      fine.PrometheusSnapshot({0.0005, 0.0025, 0.005, 10});
  EXPECT_THAT(snapshot.cumulative, ::testing::ElementsAre(2, 2, 3, 3, 4));
  EXPECT_NEAR(snapshot.sum, 30.0035, 1e-9);
}

TEST(MetricsTest, LatencyBucketsAscend) {
  const std::vector<double>& bounds = LatencyBucketsSeconds();
  ASSERT_FALSE(bounds.empty());
  for (size_t i = 1; i < bounds.size(); ++i) {
    EXPECT_LT(bounds[i - 1], bounds[i]);
  }
}

}  // namespace
}  // namespace aves::observability
