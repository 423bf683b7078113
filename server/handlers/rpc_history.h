// RpcHistory: the last minutes of every method's calls, for the dashboard's
// overview (AdminService.GetRpcStats). Every interval Sample() copies each
// method's counters and latency histogram from RpcMetrics; a point is the
// difference of two neighbouring samples. The RPC path records nothing more
// than it already does for /metrics.
#ifndef AVES_SERVER_HANDLERS_RPC_HISTORY_H_
#define AVES_SERVER_HANDLERS_RPC_HISTORY_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>

#include "server/handlers/rpc_metrics.h"

namespace aves::handlers {

class RpcHistory {
 public:
  struct Point {
    absl::Time end;
    int64_t requests = 0;
    int64_t errors = 0;  // neither OK, NOT_FOUND nor CANCELLED
    absl::Duration p99;  // the upper edge of its bucket; zero without calls
  };
  struct MethodSeries {
    std::string method;  // "ExerciseCacheService.GetExercise"
    int64_t requests = 0, errors = 0;
    absl::Duration p99;
    std::vector<Point> points;  // oldest first
  };

  // Keeps `capacity` + 1 samples (so `capacity` points).
  RpcHistory(const RpcMetrics& metrics, absl::Duration interval, int capacity);

  // Takes a sample at `now` (a periodic task calls it every interval).
  void Sample(absl::Time now);

  // Every method with a call in the points ending within `window` of the
  // newest sample, the busiest first.
  std::vector<MethodSeries> Series(absl::Duration window) const;

  absl::Duration interval() const { return interval_; }
  absl::Duration span() const { return interval_ * capacity_; }

 private:
  struct Counts {
    int64_t handled = 0, errors = 0;
    std::vector<uint64_t> cumulative;  // the latency histogram's buckets
  };
  struct Snapshot {
    absl::Time at;
    std::vector<Counts> methods;  // in RpcMetrics::methods() order
  };

  const RpcMetrics& metrics_;
  const absl::Duration interval_;
  const int capacity_;
  mutable absl::Mutex mutex_;
  std::deque<Snapshot> samples_ ABSL_GUARDED_BY(mutex_);
};

// The upper bound of the bucket holding quantile `q` of the observations
// between two cumulative bucket counts of one histogram (`before` empty: from
// zero); the last finite bound for the +Inf bucket; zero when none.
double QuantileBetween(const std::vector<double>& bounds,
                       const std::vector<uint64_t>& before,
                       const std::vector<uint64_t>& after, double q);

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_RPC_HISTORY_H_
