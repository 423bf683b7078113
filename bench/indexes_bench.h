// avesbench indexes: the seed's "Expected Performance Gains" table, measured.
#ifndef AVES_BENCH_INDEXES_BENCH_H_
#define AVES_BENCH_INDEXES_BENCH_H_

#include <cstdint>

#include <absl/status/status.h>

namespace aves::bench {

struct IndexesBenchOptions {
  int64_t rows = 1'000'000;  // per table
  int runs = 7;  // timed runs per query and variant (median reported)
  bool json = false;
};

// Loads `rows` rows into each indexed table of a fresh database copied from
// the migrated template, then times each seed query with its index and with
// the index dropped (inside a transaction that is rolled back), and prints
// milliseconds and speedup.
absl::Status RunIndexesBench(const IndexesBenchOptions& options);

}  // namespace aves::bench

#endif  // AVES_BENCH_INDEXES_BENCH_H_
