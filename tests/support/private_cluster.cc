#include "tests/support/private_cluster.h"

#include <filesystem>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/strip.h>

#include "tests/support/subprocess.h"

namespace aves::testing {

absl::StatusOr<std::unique_ptr<PrivateCluster>> PrivateCluster::Create() {
  const std::string dir = MakeTempDir();
  // mkdtemp makes it 0700; the cluster's unprivileged owner must reach into
  // it, or scripts/pg falls back to /var/tmp.
  namespace fs = std::filesystem;
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read |
                           fs::perms::group_exec | fs::perms::others_read |
                           fs::perms::others_exec);
  std::unique_ptr<PrivateCluster> cluster(new PrivateCluster(dir + "/pg"));
  absl::Status started = cluster->Start();
  if (!started.ok()) return started;
  return cluster;
}

PrivateCluster::~PrivateCluster() {
  (void)Stop();
  std::error_code ignored;
  // If scripts/pg had to put the cluster elsewhere, home_ is a symlink to it.
  if (std::filesystem::is_symlink(home_, ignored)) {
    std::filesystem::remove_all(std::filesystem::read_symlink(home_, ignored),
                                ignored);
  }
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
