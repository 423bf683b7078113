// avesbench pool: acquire/release cost, and SELECT 1 throughput through the
// pool versus dedicated connections versus pgbench, in one run.
#ifndef AVES_BENCH_POOL_BENCH_H_
#define AVES_BENCH_POOL_BENCH_H_

#include <absl/status/status.h>
#include <absl/time/time.h>

namespace aves::bench {

struct PoolBenchOptions {
  absl::Duration duration = absl::Seconds(5);  // per measurement
  int runs = 3;                                // medians of this many
  bool json = false;
};

absl::Status RunPoolBench(const PoolBenchOptions& options);

}  // namespace aves::bench

#endif  // AVES_BENCH_POOL_BENCH_H_
