// A PostgreSQL cluster of one test's own (scripts/pg with AVES_PG_HOME in a
// temporary directory), for tests that stop or restart the server: they must
// not disturb the shared cluster other suites are using.
#ifndef AVES_TESTS_SUPPORT_PRIVATE_CLUSTER_H_
#define AVES_TESTS_SUPPORT_PRIVATE_CLUSTER_H_

#include <memory>
#include <string>

#include <absl/status/statusor.h>

namespace aves::testing {

class PrivateCluster {
 public:
  // Creates (initdb) and starts a cluster; its database "aves" is empty.
  static absl::StatusOr<std::unique_ptr<PrivateCluster>> Create();
  ~PrivateCluster();  // stops it and removes its files

  const std::string& url() const { return url_; }
  absl::Status Stop();
  absl::Status Start();
  absl::Status Restart();  // pg_ctl restart -m fast

 private:
  explicit PrivateCluster(std::string home) : home_(std::move(home)) {}
  absl::Status Run(const std::string& command);
  std::string home_;
  std::string url_;
};

}  // namespace aves::testing

#endif  // AVES_TESTS_SUPPORT_PRIVATE_CLUSTER_H_
