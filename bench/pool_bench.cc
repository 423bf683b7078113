#include "bench/pool_bench.h"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/synchronization/notification.h>
#include <pqxx/pqxx>

#include "bench/pgbench.h"
#include "bench/report.h"
#include "server/common/status_macros.h"
#include "server/db/connection.h"
#include "server/db/database.h"
#include "server/db/errors.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace aves::bench {
namespace {

constexpr char kSelectOne[] = "select_one";

// Runs `body` on `threads` threads for `duration`; returns operations/s.
template <typename Body>
double Throughput(int threads, absl::Duration duration, Body body) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> operations{0};
  absl::Notification go;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto state = body.Prepare(t);
      go.WaitForNotification();
      int64_t done = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        body.Run(state);
        ++done;
      }
      operations += done;
    });
  }
  const absl::Time start = absl::Now();
  go.Notify();
  absl::SleepFor(duration);
  stop = true;
  for (std::thread& worker : workers) worker.join();
  return static_cast<double>(operations) /
         absl::ToDoubleSeconds(absl::Now() - start);
}

struct AcquireRelease {
  db::Pool& pool;
  int Prepare(int) { return 0; }
  void Run(int) {
    absl::StatusOr<db::Lease> lease = pool.Acquire({});
    if (!lease.ok()) std::abort();
  }
};

struct PooledSelectOne {
  db::Database& database;
  int Prepare(int) { return 0; }
  void Run(int) {
    absl::Status status = database.Run({}, db::Access::kRead,
                                       [](pqxx::connection_base& connection) {
                                         pqxx::nontransaction tx(connection);
                                         tx.exec_prepared(kSelectOne);
                                         return absl::OkStatus();
                                       });
    if (!status.ok()) {
      std::cerr << "pooled SELECT 1 failed: " << status << "\n";
      std::abort();
    }
  }
};

struct DedicatedSelectOne {
  const std::string& conninfo;
  std::unique_ptr<pqxx::connection> Prepare(int) {
    auto connection = std::make_unique<pqxx::connection>(
        db::WithApplicationName(conninfo, "avesbench-dedicated"));
    connection->prepare(kSelectOne, "SELECT 1");
    return connection;
  }
  void Run(std::unique_ptr<pqxx::connection>& connection) {
    pqxx::nontransaction tx(*connection);
    tx.exec_prepared(kSelectOne);
  }
};

}  // namespace

absl::Status RunPoolBench(const PoolBenchOptions& options) {
  ASSIGN_OR_RETURN(auto database,
                   testing::TestDatabase::CreateEmpty("bench_pool"));
  const std::string conninfo = database->conninfo();
  const std::string script = testing::MakeTempDir() + "/select1.sql";
  std::ofstream(script) << "SELECT 1;\n";
  // pgbench -S needs its tables (scale 1: 100,000 accounts).
  RETURN_IF_ERROR(InitPgbench(conninfo, 1));

  db::PoolOptions pool_options;  // the defaults: max 20, min 5
  db::Database pooled(conninfo, pool_options, {{kSelectOne, "SELECT 1"}});
  pooled.Start();
  if (!pooled.pool().WaitUntilReady(absl::Seconds(30))) {
    return absl::UnavailableError("the pool did not become ready");
  }

  Report report("pool");
  std::vector<std::vector<std::string>> table = {
      {"measurement", "threads", "median", "unit"}};
  auto median_of = [&](auto measure) {
    std::vector<double> samples;
    for (int run = 0; run < options.runs; ++run) samples.push_back(measure());
    return Median(samples);
  };
  auto add = [&](const std::string& name, const std::string& label, int threads,
                 double value, const std::string& unit) {
    report.Add(name, value, unit);
    table.push_back(
        {label, std::to_string(threads), FormatNumber(value), unit});
  };

  // Acquire + release, no query: the pool's own overhead.
  const absl::Duration short_run = std::min(options.duration, absl::Seconds(2));
  for (int threads : {1, 64}) {
    const double ops = median_of([&] {
      return Throughput(threads, short_run, AcquireRelease{pooled.pool()});
    });
    add(absl::StrCat("acquire_release_", threads, "t_ops_per_s"),
        "acquire+release", threads, ops, "ops/s");
    add(absl::StrCat("acquire_release_", threads, "t_ns_per_op"),
        "acquire+release (per op, all threads)", threads, 1e9 / ops, "ns");
  }

  for (int threads : {1, 8, 64}) {
    const double pool_qps = median_of([&] {
      return Throughput(threads, options.duration, PooledSelectOne{pooled});
    });
    const double dedicated_qps = median_of([&] {
      return Throughput(threads, options.duration,
                        DedicatedSelectOne{conninfo});
    });
    std::vector<double> pgbench_samples, pgbench_s_samples;
    for (int run = 0; run < options.runs; ++run) {
      ASSIGN_OR_RETURN(double tps, RunPgbench(conninfo, {"-f", script}, threads,
                                              options.duration));
      pgbench_samples.push_back(tps);
      ASSIGN_OR_RETURN(double tps_s,
                       RunPgbench(conninfo, {"-S"}, threads, options.duration));
      pgbench_s_samples.push_back(tps_s);
    }
    const double pgbench_qps = Median(pgbench_samples);
    const double pgbench_s_qps = Median(pgbench_s_samples);
    add(absl::StrCat("select1_pool_", threads, "t_qps"),
        "SELECT 1 through the pool (max 20)", threads, pool_qps, "queries/s");
    add(absl::StrCat("select1_dedicated_", threads, "t_qps"),
        "SELECT 1 on a dedicated connection per thread", threads, dedicated_qps,
        "queries/s");
    add(absl::StrCat("select1_pgbench_", threads, "t_qps"),
        "pgbench -M prepared, SELECT 1", threads, pgbench_qps, "queries/s");
    add(absl::StrCat("pgbench_S_", threads, "t_qps"),
        "pgbench -S -M prepared (for reference)", threads, pgbench_s_qps,
        "queries/s");
    report.AddRatio(absl::StrCat("pool_vs_dedicated_", threads),
                    pool_qps / dedicated_qps);
    report.AddRatio(absl::StrCat("pool_vs_pgbench_", threads),
                    pool_qps / pgbench_qps);
  }
  report.Add("runs_per_median", options.runs, "runs");
  report.Add("seconds_per_run", absl::ToDoubleSeconds(options.duration), "s");
  report.SetTable(std::move(table));
  report.Print(std::cout, options.json);
  return absl::OkStatus();
}

}  // namespace aves::bench
