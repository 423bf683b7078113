// avesbench: every performance figure aves-data claims, each beside its
// baseline, measured in one run. `avesbench list` names the benchmarks.
// Normally started through scripts/bench, which provides DATABASE_URL.
#include <algorithm>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/synchronization/mutex.h>

#include "bench/auth_bench.h"
#include "bench/bulk_bench.h"
#include "bench/indexes_bench.h"
#include "bench/lookup_bench.h"
#include "bench/metrics_bench.h"
#include "bench/node_lookup_bench.h"
#include "bench/pool_bench.h"

namespace {

constexpr char kUsage[] = R"(Usage: avesbench NAME [--json] [options]

Benchmarks:
  indexes   The seed's "Expected Performance Gains" table: each seed query on
            1,000,000-row tables with and without its index.
            --rows=N (default 1000000)  --runs=N timed runs per median (default 7)
  pool      Acquire+release cost (1 and 64 threads over 20 connections) and
            SELECT 1 throughput at 1, 8 and 64 threads: through the pool, on
            dedicated connections, and pgbench -M prepared, as ratios.
            --seconds=N per measurement (default 5)  --runs=N (default 3)
  lookup    GetExercise on 1,000,000 cache rows with random existing keys at 1,
            16 and 64 concurrent clients: through avesd over gRPC, the same
            prepared query on libpqxx connections, and pgbench at 8 and 64;
            at 64 also a health check (gRPC's ceiling), GetExercise with
            tokens, and BatchGetExercises of 50 keys (batch_get_64_keys_per_s).
            --rows=N  --seconds=N per measurement (default 20)  --runs=N
            rounds (default 1); each round measures every phase once, and
            grpc_64_vs_pgbench_peak is the median of the rounds' own ratios
            --clients-per-channel=N (gRPC clients sharing a connection; default
            64: one channel, as one backend process holds)
            --clients=N (measure only N clients; pgbench still runs)
            At 64 clients also through a second avesd with bearer tokens
            on: auth_on_vs_off_64, the median of the rounds' own ratios
  node-lookup  Lookups from a Node process (client/node, which scripts/bench
            builds), 64 in flight: node-postgres (Pool max 20, named
            statement) versus the Node client one RPC per get, coalescing,
            and coalescing with avesd's cache on (Zipf keys); ratios
            node_*_vs_node_pg are medians of the rounds' own ratios, with
            the Node process's CPU per lookup.
            --rows=N (default 1000000)  --seconds=N per phase (default 20)
            --runs=N rounds (default 3)  --clients=N (default 64)
  bulk      Loading rows row by row, in multi-row INSERTs of 100, with psql
            \copy from CSV and through avesd's streaming BulkInsertService
            (INSERT, UPSERT, RETURNING), as rows/s and ratios: user_progress
            at --rows and --large-rows, ai_annotation_items at
            --annotation-rows; then avesd's memory during a --rss-rows load.
            --rows=N (default 100000)  --large-rows=N (default 1000000)
            --annotation-rows=N (default 100000)  --rss-rows=N (default
            10000000)  (0 skips the last three)  --runs=N (default 3)
            --batch-size=N (avesd's rows per batch; default: its own, 5000)
  auth      Authenticating a call: a bearer token's first verification
            (HS256, ES256) against the same token again from the cache, in
            ns per call and as a ratio. No database.
            --tokens=N per run (default 2000)  --runs=N (default 5)
  metrics   Recording one RPC's metrics (the server interceptor's work)
            in ns, against its 1 µs budget, and rendering the RPC families
            of a scrape. No database.
            --calls=N per run (default 2000000)  --runs=N (default 5)
  list      This list.
Every benchmark prints a table; --json prints one JSON object instead.
)";

// --name=N flags with positive whole values, plus --json.
struct Flags {
  bool json = false;
  std::map<std::string, int64_t> values;
};

bool ParseFlags(int argc, char** argv, const std::vector<std::string>& allowed,
                Flags* flags,
                const std::vector<std::string>& may_be_zero = {}) {
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") {
      flags->json = true;
      continue;
    }
    bool known = false;
    for (const std::string& name : allowed) {
      const std::string prefix = "--" + name + "=";
      if (!absl::StartsWith(arg, prefix)) continue;
      int64_t value = 0;
      const bool zero_ok = std::find(may_be_zero.begin(), may_be_zero.end(),
                                     name) != may_be_zero.end();
      if (!absl::SimpleAtoi(arg.substr(prefix.size()), &value) || value < 0 ||
          (value == 0 && !zero_ok)) {
        std::cerr << "avesbench: " << prefix
                  << (zero_ok ? " wants a whole number\n"
                              : " wants a positive whole number\n");
        return false;
      }
      flags->values[name] = value;
      known = true;
    }
    if (!known) {
      std::cerr << "avesbench: unknown option " << arg << "\n" << kUsage;
      return false;
    }
  }
  return true;
}

int Finish(const std::string& name, const absl::Status& status) {
  if (status.ok()) return 0;
  std::cerr << "avesbench " << name << ": " << status.ToString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // As in avesd (server/main.cc): Debian's abseil checks every Mutex
  // acquisition for lock-order cycles, a debug aid that costs the gRPC
  // clients a few percent of their CPU under load.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (argc < 2 || std::string(argv[1]) == "list" ||
      std::string(argv[1]) == "--help") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  Flags flags;
  if (name == "indexes") {
    if (!ParseFlags(argc, argv, {"rows", "runs"}, &flags)) return 2;
    aves::bench::IndexesBenchOptions options;
    options.json = flags.json;
    if (flags.values.count("rows")) options.rows = flags.values["rows"];
    if (flags.values.count("runs"))
      options.runs = static_cast<int>(flags.values["runs"]);
    return Finish(name, aves::bench::RunIndexesBench(options));
  }
  if (name == "lookup") {
    if (!ParseFlags(
            argc, argv,
            {"rows", "seconds", "runs", "clients-per-channel", "clients"},
            &flags))
      return 2;
    aves::bench::LookupBenchOptions options;
    options.json = flags.json;
    if (flags.values.count("rows")) options.rows = flags.values["rows"];
    if (flags.values.count("seconds"))
      options.duration = absl::Seconds(flags.values["seconds"]);
    if (flags.values.count("runs"))
      options.runs = static_cast<int>(flags.values["runs"]);
    if (flags.values.count("clients-per-channel")) {
      options.clients_per_channel =
          static_cast<int>(flags.values["clients-per-channel"]);
    }
    if (flags.values.count("clients"))
      options.only_clients = static_cast<int>(flags.values["clients"]);
    return Finish(name, aves::bench::RunLookupBench(options));
  }
  if (name == "node-lookup") {
    if (!ParseFlags(argc, argv, {"rows", "seconds", "runs", "clients"}, &flags))
      return 2;
    aves::bench::NodeLookupBenchOptions options;
    options.json = flags.json;
    if (flags.values.count("rows")) options.rows = flags.values["rows"];
    if (flags.values.count("seconds"))
      options.duration = absl::Seconds(flags.values["seconds"]);
    if (flags.values.count("runs"))
      options.runs = static_cast<int>(flags.values["runs"]);
    if (flags.values.count("clients"))
      options.clients = static_cast<int>(flags.values["clients"]);
    return Finish(name, aves::bench::RunNodeLookupBench(options));
  }
  if (name == "bulk") {
    if (!ParseFlags(argc, argv,
                    {"rows", "large-rows", "annotation-rows", "rss-rows",
                     "runs", "batch-size"},
                    &flags, {"large-rows", "annotation-rows", "rss-rows"}))
      return 2;
    aves::bench::BulkBenchOptions options;
    options.json = flags.json;
    if (flags.values.count("rows")) options.rows = flags.values["rows"];
    if (flags.values.count("large-rows"))
      options.large_rows = flags.values["large-rows"];
    if (flags.values.count("annotation-rows"))
      options.annotation_rows = flags.values["annotation-rows"];
    if (flags.values.count("rss-rows"))
      options.rss_rows = flags.values["rss-rows"];
    if (flags.values.count("runs"))
      options.runs = static_cast<int>(flags.values["runs"]);
    if (flags.values.count("batch-size"))
      options.batch_rows = static_cast<int>(flags.values["batch-size"]);
    return Finish(name, aves::bench::RunBulkBench(options));
  }
  if (name == "auth") {
    if (!ParseFlags(argc, argv, {"tokens", "runs"}, &flags)) return 2;
    aves::bench::AuthBenchOptions options;
    options.json = flags.json;
    if (flags.values.count("tokens"))
      options.tokens = static_cast<int>(flags.values["tokens"]);
    if (flags.values.count("runs"))
      options.runs = static_cast<int>(flags.values["runs"]);
    return Finish(name, aves::bench::RunAuthBench(options));
  }
  if (name == "metrics") {
    if (!ParseFlags(argc, argv, {"calls", "runs"}, &flags)) return 2;
    aves::bench::MetricsBenchOptions options;
    options.json = flags.json;
    if (flags.values.count("calls"))
      options.calls = static_cast<int>(flags.values["calls"]);
    if (flags.values.count("runs"))
      options.runs = static_cast<int>(flags.values["runs"]);
    return Finish(name, aves::bench::RunMetricsBench(options));
  }
  if (name == "pool") {
    if (!ParseFlags(argc, argv, {"seconds", "runs"}, &flags)) return 2;
    aves::bench::PoolBenchOptions options;
    options.json = flags.json;
    if (flags.values.count("seconds"))
      options.duration = absl::Seconds(flags.values["seconds"]);
    if (flags.values.count("runs"))
      options.runs = static_cast<int>(flags.values["runs"]);
    return Finish(name, aves::bench::RunPoolBench(options));
  }
  std::cerr << "avesbench: unknown benchmark '" << name << "'\n" << kUsage;
  return 2;
}
