#include "tests/support/private_cluster.h"

#include <filesystem>
#include <map>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/strip.h>

#include "tests/support/subprocess.h"

namespace aves::testing {

absl::StatusOr<std::unique_ptr<PrivateCluster>> PrivateCluster::Create() {
  return Make(/*tls=*/false);
}

absl::StatusOr<std::unique_ptr<PrivateCluster>> PrivateCluster::CreateTls() {
  return Make(/*tls=*/true);
}

absl::StatusOr<std::unique_ptr<PrivateCluster>> PrivateCluster::Make(bool tls) {
  const std::string dir = MakeTempDir();
  // mkdtemp makes it 0700; the cluster's unprivileged owner must reach into
  // it, or scripts/pg falls back to /var/tmp.
  namespace fs = std::filesystem;
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read |
                           fs::perms::group_exec | fs::perms::others_read |
                           fs::perms::others_exec);
  std::unique_ptr<PrivateCluster> cluster(new PrivateCluster(dir + "/pg", tls));
  absl::Status started = cluster->Start();
  if (!started.ok()) return started;
  absl::StatusOr<std::string> service_url = cluster->Run({"url", "--service"});
  if (!service_url.ok()) return service_url.status();
  cluster->service_url_ = *std::move(service_url);
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

absl::StatusOr<std::string> PrivateCluster::Run(
    const std::vector<std::string>& args) {
  std::vector<std::string> argv = {AVES_SOURCE_DIR "/scripts/pg"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> env = {{"AVES_PG_HOME", home_}};
  if (tls_) env["AVES_PG_TLS"] = "1";
  CommandResult result = RunCommand(argv, env, absl::Seconds(120));
  if (result.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("scripts/pg ", absl::StrJoin(args, " "), " failed (",
                     result.exit_code, "): ", result.err));
  }
  return std::string(absl::StripTrailingAsciiWhitespace(result.out));
}

absl::Status PrivateCluster::Stop() { return Run({"stop"}).status(); }

absl::Status PrivateCluster::Start() {
  absl::StatusOr<std::string> url = Run({"start"});
  if (!url.ok()) return url.status();
  url_ = *std::move(url);
  return absl::OkStatus();
}

absl::Status PrivateCluster::Restart() {
  absl::StatusOr<std::string> url = Run({"restart"});
  if (!url.ok()) return url.status();
  url_ = *std::move(url);
  return absl::OkStatus();
}

}  // namespace aves::testing
