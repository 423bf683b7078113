// Metrics in the Prometheus text exposition format (version 0.0.4), ours
// because prometheus-cpp is not packaged for Debian 12. Two halves:
// - Recording: Counter, Gauge and Histogram are lock-free atomics a
//   component owns and updates on its hot path (relaxed increments).
// - Exposition: at scrape time each registered collector writes its
//   families into an Exposition, reading those atomics or copying a
//   component's statistics; the registry's mutex guards only the list of
//   collectors, never a recording.
#ifndef AVES_SERVER_OBSERVABILITY_METRICS_H_
#define AVES_SERVER_OBSERVABILITY_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/strings/string_view.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>

namespace aves::observability {

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t value) { value_.store(value, std::memory_order_relaxed); }
  void Add(int64_t delta) {
    value_.fetch_add(delta, std::memory_order_relaxed);
  }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Upper bounds of latency buckets, in seconds: 0.25 ms to 10 s (lookups take
// well under a millisecond, loads and watches seconds).
const std::vector<double>& LatencyBucketsSeconds();

struct HistogramSnapshot {
  std::vector<double> bounds;        // upper bounds, ascending
  std::vector<uint64_t> cumulative;  // per bound, then +Inf
  double sum = 0;                    // in the bounds' unit
};

class Histogram {
 public:
  // `bounds` ascending, in the unit Observe takes (seconds for latencies).
  explicit Histogram(std::vector<double> bounds = LatencyBucketsSeconds());
  void Observe(double value);
  void ObserveDuration(absl::Duration duration) {
    Observe(absl::ToDoubleSeconds(duration));
  }
  HistogramSnapshot Snapshot() const;

 private:
  const std::vector<double> bounds_;
  // Per bucket (not cumulative), the last one +Inf.
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  // The sum in nanounits: an integer, so it adds atomically.
  std::atomic<uint64_t> sum_nanos_{0};
};

using Labels = std::vector<std::pair<std::string, std::string>>;

// The text of one scrape. A family's samples must follow its header
// without another family in between (the format's rule, which promtool
// checks): write each family's samples right after its Family().
class Exposition {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  // `name` is the family's base name ("grpc_server_handled_total" for a
  // counter: its samples carry it whole, as Prometheus expects).
  void Family(absl::string_view name, Type type, absl::string_view help);
  void Sample(absl::string_view name, const Labels& labels, double value);
  // `name`_bucket / _sum / _count of a histogram.
  void Histogram(absl::string_view name, const Labels& labels,
                 const HistogramSnapshot& snapshot);

  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

class MetricsRegistry {
 public:
  using Collector = std::function<void(Exposition&)>;

  // `collector` writes its families at every scrape, in the order added; it
  // and what it reads must outlive the registry's last Render().
  void Add(Collector collector);
  std::string Render() const;

 private:
  mutable absl::Mutex mutex_;
  std::vector<Collector> collectors_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace aves::observability

#endif  // AVES_SERVER_OBSERVABILITY_METRICS_H_
