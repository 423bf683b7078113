// avesbench lookup: GetExercise throughput and latency through avesd over
// gRPC, versus the same prepared query on libpqxx connections, versus pgbench.
#ifndef AVES_BENCH_LOOKUP_BENCH_H_
#define AVES_BENCH_LOOKUP_BENCH_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "tests/support/test_database.h"

namespace aves::bench {

struct LookupBenchOptions {
  int64_t rows = 1'000'000;
  absl::Duration duration = absl::Seconds(20);  // per measurement
  int runs = 1;                                 // medians of this many
  // Concurrent clients sharing one gRPC channel (one TCP connection). One
  // channel for all: a frontend backend process holds one channel and
  // multiplexes its concurrent calls over it, as gRPC intends (pgbench needs
  // a connection per client because PostgreSQL does).
  int clients_per_channel = 64;
  // Measure gRPC and direct lookups at this many clients only (0: 1, 16 and
  // 64); for profiling one phase. pgbench always runs: it is the baseline.
  int only_clients = 0;
  bool json = false;
};

absl::Status RunLookupBench(const LookupBenchOptions& options);

struct LookupKey {
  std::string user_id, exercise_type;
  int difficulty_level;
};

// The lookup benchmarks' data: a database of `rows` exercise_cache rows
// (10 per learner, a tenth expired, 300-byte payloads); 10,000 existing
// keys, also as the table bench_keys that pgbench draws from; and every
// distinct key, in a fixed shuffled order (the Zipf ranks).
struct LookupData {
  std::unique_ptr<testing::TestDatabase> database;
  std::vector<LookupKey> keys;
  std::vector<LookupKey> all_keys;
};
absl::StatusOr<LookupData> PrepareLookupData(int64_t rows);

}  // namespace aves::bench

#endif  // AVES_BENCH_LOOKUP_BENCH_H_
