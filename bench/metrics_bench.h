// avesbench metrics: what recording an RPC's metrics costs (the work the
// server interceptor does per call: finding the method, four counters, a
// histogram, two clock reads, the recorder's allocation), against the 1 µs
// budget, and what a scrape of every family costs. No database, no network.
#ifndef AVES_BENCH_METRICS_BENCH_H_
#define AVES_BENCH_METRICS_BENCH_H_

#include <absl/status/status.h>

namespace aves::bench {

struct MetricsBenchOptions {
  int calls = 2'000'000;  // recorded per run
  int runs = 5;           // medians of this many
  bool json = false;
};

absl::Status RunMetricsBench(const MetricsBenchOptions& options);

}  // namespace aves::bench

#endif  // AVES_BENCH_METRICS_BENCH_H_
