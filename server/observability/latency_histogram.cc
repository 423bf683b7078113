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
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int bucket = 0; bucket < kBuckets; ++bucket)
    counts_[bucket] += other.counts_[bucket];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
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
