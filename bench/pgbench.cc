#include "bench/pgbench.h"

#include <cstdlib>
#include <regex>

#include <absl/status/status.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>

#include "tests/support/subprocess.h"

namespace aves::bench {

std::string PgBinaryPath(const std::string& name) {
  const char* bin = std::getenv("AVES_PG_BIN");
  return std::string(bin != nullptr ? bin : "/usr/lib/postgresql/15/bin") +
         "/" + name;
}

absl::StatusOr<double> RunPgbench(const std::string& conninfo,
                                  const std::vector<std::string>& args,
                                  int clients, absl::Duration duration) {
  std::vector<std::string> argv = {
      PgbenchPath(),
      "-n",
      "-M",
      "prepared",
      "-c",
      std::to_string(clients),
      "-j",
      std::to_string(std::min(clients, 2)),
      "-T",
      std::to_string(std::max<int64_t>(1, absl::ToInt64Seconds(duration)))};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(conninfo);
  testing::CommandResult result =
      testing::RunCommand(argv, {}, duration + absl::Seconds(60));
  static const auto* kTps =
      new std::regex(R"(tps = ([0-9.]+) \(without initial connection)");
  std::smatch match;
  double tps = 0;
  if (result.exit_code != 0 || !std::regex_search(result.out, match, *kTps) ||
      !absl::SimpleAtod(match[1].str(), &tps)) {
    return absl::InternalError(
        absl::StrCat("pgbench failed: ", result.err, result.out));
  }
  return tps;
}

absl::Status InitPgbench(const std::string& conninfo, int scale) {
  testing::CommandResult init = testing::RunCommand(
      {PgbenchPath(), "-i", "-q", "-s", std::to_string(scale), conninfo}, {},
      absl::Seconds(300));
  if (init.exit_code != 0)
    return absl::InternalError("pgbench -i failed: " + init.err);
  return absl::OkStatus();
}

}  // namespace aves::bench
