// LatencyHistogram: fixed log-scale buckets (1 µs .. ~100 s, ~5% apart), so
// recording is a few arithmetic operations and percentiles cost no sorting.
// Percentiles are reported as the upper edge of their bucket (<= 5% high);
// the maximum is exact. Not thread-safe: callers hold their own lock.
#ifndef AVES_SERVER_OBSERVABILITY_LATENCY_HISTOGRAM_H_
#define AVES_SERVER_OBSERVABILITY_LATENCY_HISTOGRAM_H_

#include <array>
#include <cstdint>

#include <absl/time/time.h>

#include "server/observability/metrics.h"

namespace aves::observability {

struct LatencySummary {
  int64_t count = 0;
  absl::Duration p50, p95, p99, max;
};

class LatencyHistogram {
 public:
  void Record(absl::Duration latency);
  // Adds every sample of `other`.
  void Merge(const LatencyHistogram& other);
  LatencySummary Summary() const;
  // The bucket upper edge at quantile q in [0, 1]; zero when empty.
  absl::Duration Quantile(double q) const;
  // As a Prometheus histogram with `bounds_seconds`: each bound counts the
  // samples of the fine buckets that end at or below it, so a sample within
  // 5% under a bound may land in the next one (counts lean low by at most
  // that much); the sum is exact.
  HistogramSnapshot PrometheusSnapshot(
      const std::vector<double>& bounds_seconds) const;

 private:
  static constexpr int kBuckets = 380;  // 1.05^378 µs ≈ 100 s
  std::array<int64_t, kBuckets> counts_{};
  int64_t count_ = 0;
  absl::Duration max_ = absl::ZeroDuration();
  absl::Duration sum_ = absl::ZeroDuration();
};

}  // namespace aves::observability

#endif  // AVES_SERVER_OBSERVABILITY_LATENCY_HISTOGRAM_H_
