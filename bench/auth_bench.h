// avesbench auth: what authenticating a call costs. A token seen for the
// first time (its signature checked: HS256 and ES256) against the same token
// again (answered from the verified-token cache), as nanoseconds per call
// and as a ratio, in one run. No database.
#ifndef AVES_BENCH_AUTH_BENCH_H_
#define AVES_BENCH_AUTH_BENCH_H_

#include <absl/status/status.h>

namespace aves::bench {

struct AuthBenchOptions {
  int tokens = 2000;  // distinct tokens verified per run (first sight)
  int runs = 5;       // medians of this many
  bool json = false;
};

absl::Status RunAuthBench(const AuthBenchOptions& options);

}  // namespace aves::bench

#endif  // AVES_BENCH_AUTH_BENCH_H_
