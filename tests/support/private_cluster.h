// A PostgreSQL cluster of one test's own (scripts/pg with AVES_PG_HOME in a
// temporary directory), for tests that stop or restart the server: they must
// not disturb the shared cluster other suites are using.
#ifndef AVES_TESTS_SUPPORT_PRIVATE_CLUSTER_H_
#define AVES_TESTS_SUPPORT_PRIVATE_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include <absl/status/statusor.h>

namespace aves::testing {

class PrivateCluster {
 public:
  // Creates (initdb) and starts a cluster; its database "aves" is empty.
  static absl::StatusOr<std::unique_ptr<PrivateCluster>> Create();
  // The same, TLS-only (AVES_PG_TLS=1): url() has sslmode=verify-full and
  // the cluster's CA, ca_file().
  static absl::StatusOr<std::unique_ptr<PrivateCluster>> CreateTls();
  ~PrivateCluster();  // stops it and removes its files

  // The schema owner's URL; service_url() the serving role's (scripts/pg).
  const std::string& url() const { return url_; }
  const std::string& service_url() const { return service_url_; }
  std::string ca_file() const { return home_ + "/tls/ca.crt"; }
  absl::Status Stop();
  absl::Status Start();
  absl::Status Restart();  // pg_ctl restart -m fast

 private:
  PrivateCluster(std::string home, bool tls)
      : home_(std::move(home)), tls_(tls) {}
  static absl::StatusOr<std::unique_ptr<PrivateCluster>> Make(bool tls);
  // scripts/pg `args`; its output.
  absl::StatusOr<std::string> Run(const std::vector<std::string>& args);
  std::string home_;
  bool tls_;
  std::string url_;
  std::string service_url_;
};

}  // namespace aves::testing

#endif  // AVES_TESTS_SUPPORT_PRIVATE_CLUSTER_H_
