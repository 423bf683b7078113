// A throwaway PKI for TLS tests: a CA and certificates it signs, made with
// the openssl command at run time in a temporary directory (nothing secret
// is committed). P-256 keys: quick to make.
#ifndef AVES_TESTS_SUPPORT_TEST_PKI_H_
#define AVES_TESTS_SUPPORT_TEST_PKI_H_

#include <string>

#include <absl/status/statusor.h>

namespace aves::testing {

struct IssuedCertificate {
  std::string cert_file;  // PEM
  std::string key_file;   // PEM, unencrypted
};

class TestPki {
 public:
  // A new CA whose certificate names `ca_name`.
  static absl::StatusOr<TestPki> Create(const std::string& ca_name);

  // A certificate for `common_name`, valid for the names "localhost" and
  // 127.0.0.1, usable by a server and a client.
  absl::StatusOr<IssuedCertificate> Issue(const std::string& common_name) const;

  const std::string& ca_cert_file() const { return ca_cert_file_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::string ca_cert_file_;
  std::string ca_key_file_;
};

}  // namespace aves::testing

#endif  // AVES_TESTS_SUPPORT_TEST_PKI_H_
