// avesbench: every performance figure aves-data claims, each beside its
// baseline, measured in one run. `avesbench list` names the benchmarks.
// Normally started through scripts/bench, which provides DATABASE_URL.
#include <iostream>
#include <string>
#include <vector>

#include <absl/strings/match.h>
#include <absl/strings/numbers.h>

#include "bench/indexes_bench.h"

namespace {

constexpr char kUsage[] = R"(Usage: avesbench NAME [--json] [options]

Benchmarks:
  indexes   The seed's "Expected Performance Gains" table: each seed query on
            1,000,000-row tables with and without its index.
            --rows=N (default 1000000)  --runs=N timed runs per median (default 7)
  list      This list.
Every benchmark prints a table; --json prints one JSON object instead.
)";

bool ParseIntFlag(const std::string& arg, const std::string& name,
                  int64_t* out) {
  const std::string prefix = "--" + name + "=";
  if (!absl::StartsWith(arg, prefix)) return false;
  if (!absl::SimpleAtoi(arg.substr(prefix.size()), out) || *out <= 0) {
    std::cerr << "avesbench: " << prefix << " wants a positive whole number\n";
    std::exit(2);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "list" ||
      std::string(argv[1]) == "--help") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  if (name == "indexes") {
    aves::bench::IndexesBenchOptions options;
    for (int i = 2; i < argc; ++i) {
      const std::string arg = argv[i];
      int64_t value = 0;
      if (arg == "--json") {
        options.json = true;
      } else if (ParseIntFlag(arg, "rows", &value)) {
        options.rows = value;
      } else if (ParseIntFlag(arg, "runs", &value)) {
        options.runs = static_cast<int>(value);
      } else {
        std::cerr << "avesbench indexes: unknown option " << arg << "\n"
                  << kUsage;
        return 2;
      }
    }
    absl::Status status = aves::bench::RunIndexesBench(options);
    if (!status.ok()) {
      std::cerr << "avesbench indexes: " << status.ToString() << "\n";
      return 1;
    }
    return 0;
  }
  std::cerr << "avesbench: unknown benchmark '" << name << "'\n" << kUsage;
  return 2;
}
