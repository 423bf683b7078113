#include "tests/support/private_cluster.h"

#include <filesystem>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/strip.h>

#include "tests/support/subprocess.h"

namespace aves::testing {

absl::StatusOr<std::unique_ptr<PrivateCluster>> PrivateCluster::Create() {
  std::unique_ptr<PrivateCluster> cluster(
      new PrivateCluster(MakeTempDir() + "/pg"));
  absl::Status started = cluster->Start();
  if (!started.ok()) return started;
  return cluster;
}

PrivateCluster::~PrivateCluster() {
  (void)Stop();
  std::error_code ignored;
  std::filesystem::remove_all(std::filesystem::path(home_).parent_path(),
                              ignored);
}

absl::Status PrivateCluster::Run(const std::string& command) {
  CommandResult result =
      RunCommand({AVES_SOURCE_DIR "/scripts/pg", command},
                 {{"AVES_PG_HOME", home_}}, absl::Seconds(120));
  if (result.exit_code != 0) {
    return absl::InternalError(absl::StrCat("scripts/pg ", command, " failed (",
                                            result.exit_code,
                                            "): ", result.err));
  }
  if (command != "stop")
    url_ = std::string(absl::StripTrailingAsciiWhitespace(result.out));
  return absl::OkStatus();
}

absl::Status PrivateCluster::Stop() { return Run("stop"); }
absl::Status PrivateCluster::Start() { return Run("start"); }
absl::Status PrivateCluster::Restart() { return Run("restart"); }

}  // namespace aves::testing
