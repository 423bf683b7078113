#include "bench/metrics_bench.h"

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <absl/time/clock.h>
#include <benchmark/benchmark.h>

#include "bench/report.h"
#include "server/app/services.h"
#include "server/handlers/rpc_metrics.h"

namespace aves::bench {
namespace {

constexpr char kPath[] = "/aves.data.v1.ExerciseCacheService/GetExercise";

// The interceptor's work for one unary call, as CallRecorder does it.
struct RecorderSized {
  void* method;
  std::chrono::steady_clock::time_point start;
  bool finished;
};

double RecordOnce(const handlers::RpcMetrics& metrics, int calls) {
  const absl::Time start = absl::Now();
  for (int i = 0; i < calls; ++i) {
    handlers::RpcMetrics::Method* method = metrics.Find(kPath);
    auto recorder = std::make_unique<RecorderSized>();
    recorder->start = std::chrono::steady_clock::now();
    method->started.Add();
    method->received.Add();
    method->sent.Add();
    method->Handled(grpc::StatusCode::OK,
                    std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - recorder->start)
                        .count());
    benchmark::DoNotOptimize(recorder.get());
  }
  return absl::ToDoubleNanoseconds(absl::Now() - start) / calls;
}

}  // namespace

absl::Status RunMetricsBench(const MetricsBenchOptions& options) {
  handlers::RpcMetrics metrics(app::Services::grpc_service_names());
  if (metrics.Find(kPath) == nullptr) {
    return absl::InternalError("GetExercise is not among the methods");
  }
  std::vector<double> record_ns, scrape_us;
  for (int run = 0; run < options.runs; ++run) {
    record_ns.push_back(RecordOnce(metrics, options.calls));
    const absl::Time start = absl::Now();
    constexpr int kScrapes = 200;
    for (int i = 0; i < kScrapes; ++i) {
      observability::Exposition out;
      metrics.Collect(out);
      benchmark::DoNotOptimize(out.Take());
    }
    scrape_us.push_back(absl::ToDoubleMicroseconds(absl::Now() - start) /
                        kScrapes);
  }
  const double record = Median(record_ns);
  const double scrape = Median(scrape_us);
  Report report("metrics");
  report.Add("record_rpc_ns", record, "ns");
  report.AddRatio("record_rpc_vs_1us_budget", record / 1000.0);
  report.Add("scrape_rpc_families_us", scrape, "us");
  report.Add("runs_per_median", options.runs, "runs");
  report.Add("calls_per_run", options.calls, "calls");
  report.SetTable(
      {{"what", "median", "budget", "ratio"},
       {"record one RPC", FormatNumber(record) + " ns", "1000 ns",
        FormatNumber(record / 1000.0)},
       {"render the RPC families", FormatNumber(scrape) + " us", "", ""}});
  report.AddNote(
      "one thread, no contention: the interceptor's per-call work (method "
      "lookup, started/received/sent/handled counters, the histogram, two "
      "steady_clock reads, the recorder's allocation)");
  report.Print(std::cout, options.json);
  return absl::OkStatus();
}

}  // namespace aves::bench
