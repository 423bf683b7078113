// avesbench node-lookup: lookups from a Node process, as the app's backends
// make them: node-postgres alone, versus the Node client (client/node) one
// RPC per get, coalescing, and coalescing with avesd's cache on.
#ifndef AVES_BENCH_NODE_LOOKUP_BENCH_H_
#define AVES_BENCH_NODE_LOOKUP_BENCH_H_

#include <cstdint>

#include <absl/status/status.h>
#include <absl/time/time.h>

namespace aves::bench {

struct NodeLookupBenchOptions {
  int64_t rows = 1'000'000;
  absl::Duration duration = absl::Seconds(20);  // per phase
  int runs = 3;                                 // rounds; medians of them
  int clients = 64;                             // concurrent lookups
  bool json = false;
};

absl::Status RunNodeLookupBench(const NodeLookupBenchOptions& options);

}  // namespace aves::bench

#endif  // AVES_BENCH_NODE_LOOKUP_BENCH_H_
