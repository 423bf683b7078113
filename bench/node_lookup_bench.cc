#include "bench/node_lookup_bench.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>

#include "bench/lookup_bench.h"
#include "bench/report.h"
#include "client/lib/health_client.h"
#include "server/common/status_macros.h"
#include "server/store/queries.h"
#include "tests/support/avesd_process.h"
#include "tests/support/subprocess.h"

namespace aves::bench {
namespace {

struct NodePhase {
  double rps = 0, p50_ms = 0, p99_ms = 0, errors = 0, cpu_us = 0;
  double hit_rate = -1;
};

// The number after "\"NAME\":" in a flat JSON object; -1 when absent.
double JsonNumber(const std::string& json, const std::string& name) {
  const std::string needle = "\"" + name + "\":";
  const size_t at = json.find(needle);
  if (at == std::string::npos) return -1;
  return std::strtod(json.c_str() + at + needle.size(), nullptr);
}

// One phase in a fresh Node process (client/node/dist/bench/lookup.js).
absl::StatusOr<NodePhase> RunPhase(const std::string& phase,
                                   const std::string& address,
                                   const std::string& conninfo,
                                   const std::string& keys_file,
                                   const std::string& sql_file,
                                   const NodeLookupBenchOptions& options) {
  const std::string script =
      AVES_SOURCE_DIR "/client/node/dist/bench/lookup.js";
  if (!std::filesystem::exists(script)) {
    return absl::FailedPreconditionError(
        script + " is missing: scripts/bench node-lookup builds client/node");
  }
  const int seconds = static_cast<int>(absl::ToInt64Seconds(options.duration));
  // AVES_BENCH_NODE_ARGS: flags for node, e.g. to profile the phases
  // ("--cpu-prof --cpu-prof-dir=/tmp/prof").
  std::vector<std::string> argv = {"/usr/bin/node"};
  if (const char* flags = std::getenv("AVES_BENCH_NODE_ARGS")) {
    for (absl::string_view flag :
         absl::StrSplit(flags, ' ', absl::SkipEmpty())) {
      argv.emplace_back(flag);
    }
  }
  for (const std::string& arg :
       {script, phase, address, conninfo, keys_file, sql_file,
        std::to_string(options.clients), std::to_string(seconds)}) {
    argv.push_back(arg);
  }
  testing::CommandResult run =
      testing::RunCommand(argv, {{"PATH", std::getenv("PATH")}},
                          options.duration + absl::Minutes(2));
  if (run.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("node phase ", phase, " failed: ", run.err));
  }
  NodePhase m;
  m.rps = JsonNumber(run.out, "rps");
  m.p50_ms = JsonNumber(run.out, "p50_ms");
  m.p99_ms = JsonNumber(run.out, "p99_ms");
  m.errors = JsonNumber(run.out, "errors");
  m.cpu_us = JsonNumber(run.out, "cpu_us_per_lookup");
  m.hit_rate = JsonNumber(run.out, "hit_rate");
  std::cerr << phase << ": " << run.out;
  return m;
}

}  // namespace

absl::Status RunNodeLookupBench(const NodeLookupBenchOptions& options) {
  ASSIGN_OR_RETURN(LookupData data, PrepareLookupData(options.rows));
  const std::string conninfo = data.database->conninfo();
  const std::string dir = testing::MakeTempDir();
  const std::string keys_file = dir + "/keys.tsv";
  {
    std::ofstream out(keys_file);
    for (const LookupKey& key : data.all_keys) {
      out << key.user_id << '\t' << key.exercise_type << '\t'
          << key.difficulty_level << '\n';
    }
  }
  const std::string sql_file = dir + "/lookup.sql";
  std::ofstream(sql_file) << store::kLookupExercise.sql;

  // As in avesbench lookup: the cache off for what reaches PostgreSQL, and a
  // second avesd with it on, sized to 100,000 entries.
  testing::AvesdProcess avesd(conninfo, {{"AVES_CACHE_MAX_ENTRIES", "0"}});
  testing::AvesdProcess avesd_cached(conninfo,
                                     {{"AVES_CACHE_MAX_ENTRIES", "100000"}});
  for (testing::AvesdProcess* server : {&avesd, &avesd_cached}) {
    if (server->Address().empty() ||
        !server->WaitForHealth(client::ServingStatus::kServing).ok()) {
      return absl::UnavailableError("avesd did not start: " +
                                    server->process().Stderr());
    }
  }

  struct Phase {
    std::string name, label;
    testing::AvesdProcess* server;
  };
  const std::vector<Phase> phases = {
      {"pg", "node-postgres Pool (max 20, named statement)", nullptr},
      {"single", "client, one GetExercise per get", &avesd},
      {"coalesced", "client coalescing into BatchGetExercises", &avesd},
      {"cached", "client coalescing, avesd cache on, Zipf keys", &avesd_cached},
  };
  // Rounds alternate the phases, so each round's ratios compare figures
  // taken minutes apart at most (this machine's speed drifts).
  std::map<std::string, std::vector<NodePhase>> runs;
  std::map<std::string, std::vector<double>> ratios;
  for (int round = 0; round < options.runs; ++round) {
    std::map<std::string, NodePhase> this_round;
    for (const Phase& phase : phases) {
      ASSIGN_OR_RETURN(
          NodePhase m,
          RunPhase(phase.name, phase.server ? phase.server->Address() : "",
                   conninfo, keys_file, sql_file, options));
      this_round[phase.name] = m;
      runs[phase.name].push_back(m);
    }
    for (const char* name : {"single", "coalesced", "cached"}) {
      ratios[name].push_back(this_round[name].rps / this_round["pg"].rps);
    }
  }

  Report report("node-lookup");
  std::vector<std::vector<std::string>> table = {
      {"phase", "lookups/s", "p50 ms", "p99 ms", "errors", "Node CPU us/lookup",
       "hit rate"}};
  auto median_of = [](std::vector<NodePhase> samples) {
    std::sort(
        samples.begin(), samples.end(),
        [](const NodePhase& a, const NodePhase& b) { return a.rps < b.rps; });
    return samples[samples.size() / 2];
  };
  for (const Phase& phase : phases) {
    const NodePhase m = median_of(runs[phase.name]);
    const std::string prefix =
        "node_" + phase.name + "_" + std::to_string(options.clients);
    report.Add(prefix + "_rps", m.rps, "lookups/s");
    report.Add(prefix + "_p50_ms", m.p50_ms, "ms");
    report.Add(prefix + "_p99_ms", m.p99_ms, "ms");
    report.Add(prefix + "_cpu_us_per_lookup", m.cpu_us, "us");
    if (m.hit_rate >= 0) report.Add(prefix + "_hit_rate", m.hit_rate, "ratio");
    table.push_back({phase.label, FormatNumber(m.rps), FormatNumber(m.p50_ms),
                     FormatNumber(m.p99_ms), FormatNumber(m.errors),
                     FormatNumber(m.cpu_us),
                     m.hit_rate >= 0 ? FormatNumber(m.hit_rate) : "-"});
  }
  for (const char* name : {"single", "coalesced", "cached"}) {
    const std::string ratio = absl::StrCat("node_", name, "_vs_node_pg");
    report.AddRatio(ratio, Median(ratios[name]));
    std::vector<std::string> each;
    for (double r : ratios[name]) each.push_back(FormatNumber(r));
    report.AddNote(absl::StrCat(ratio,
                                " by round (lookups/s over the same "
                                "round's node-postgres): ",
                                absl::StrJoin(each, ", ")));
  }
  // What a backend saves: Node CPU per lookup against node-postgres's.
  const double pg_cpu = median_of(runs["pg"]).cpu_us;
  for (const char* name : {"single", "coalesced", "cached"}) {
    report.AddRatio(absl::StrCat("node_", name, "_cpu_vs_node_pg"),
                    pg_cpu > 0 ? median_of(runs[name]).cpu_us / pg_cpu : 0);
  }
  report.Add("rows", static_cast<double>(options.rows), "rows");
  report.Add("distinct_keys", static_cast<double>(data.all_keys.size()),
             "keys");
  report.Add("clients", options.clients, "lookups in flight");
  report.Add("seconds_per_phase", absl::ToDoubleSeconds(options.duration), "s");
  report.Add("rounds", options.runs, "rounds");
  report.SetTable(std::move(table));
  report.Print(std::cout, options.json);
  return absl::OkStatus();
}

}  // namespace aves::bench
