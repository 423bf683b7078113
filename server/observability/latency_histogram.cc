#include "server/observability/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace aves::observability {
namespace {

constexpr double kGrowth = 1.05;

int BucketOf(absl::Duration latency) {
  const double micros = absl::ToDoubleMicroseconds(latency);
  if (micros <= 1) return 0;
  return static_cast<int>(std::ceil(std::log(micros) / std::log(kGrowth)));
}

absl::Duration UpperEdge(int bucket) {
  return absl::Microseconds(std::pow(kGrowth, bucket));
}

}  // namespace

void LatencyHistogram::Record(absl::Duration latency) {
  if (latency < absl::ZeroDuration()) latency = absl::ZeroDuration();
  counts_[std::min(BucketOf(latency), kBuckets - 1)]++;
  ++count_;
  max_ = std::max(max_, latency);
  sum_ += latency;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int bucket = 0; bucket < kBuckets; ++bucket)
    counts_[bucket] += other.counts_[bucket];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

HistogramSnapshot LatencyHistogram::PrometheusSnapshot(
    const std::vector<double>& bounds_seconds) const {
  HistogramSnapshot snapshot;
  snapshot.bounds = bounds_seconds;
  snapshot.cumulative.reserve(bounds_seconds.size() + 1);
  int bucket = 0;
  int64_t running = 0;
  for (double bound : bounds_seconds) {
    const absl::Duration edge = absl::Seconds(bound);
    while (bucket < kBuckets && UpperEdge(bucket) <= edge) {
      running += counts_[bucket++];
    }
    snapshot.cumulative.push_back(static_cast<uint64_t>(running));
  }
  snapshot.cumulative.push_back(static_cast<uint64_t>(count_));
  snapshot.sum = absl::ToDoubleSeconds(sum_);
  return snapshot;
}

absl::Duration LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return absl::ZeroDuration();
  const int64_t rank =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * count_)));
  int64_t seen = 0;
  for (int bucket = 0; bucket < kBuckets; ++bucket) {
    seen += counts_[bucket];
    if (seen >= rank) return std::min(UpperEdge(bucket), max_);
  }
  return max_;
}

LatencySummary LatencyHistogram::Summary() const {
  return {count_, Quantile(0.50), Quantile(0.95), Quantile(0.99), max_};
}

}  // namespace aves::observability
