#include "tests/support/test_pki.h"

#include <fstream>

#include <absl/strings/str_cat.h>

#include "tests/support/subprocess.h"

namespace aves::testing {
namespace {

// posix_spawn, not a shell: the full path (Debian's openssl package).
constexpr char kOpenssl[] = "/usr/bin/openssl";

absl::Status Run(std::vector<std::string> argv) {
  CommandResult result = RunCommand(std::move(argv));
  if (result.exit_code != 0) {
    return absl::InternalError(absl::StrCat("openssl exited ", result.exit_code,
                                            ": ", result.err, result.out));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TestPki> TestPki::Create(const std::string& ca_name) {
  TestPki pki;
  pki.dir_ = MakeTempDir();
  pki.ca_cert_file_ = pki.dir_ + "/ca.crt";
  pki.ca_key_file_ = pki.dir_ + "/ca.key";
  absl::Status made = Run({kOpenssl,
                           "req",
                           "-x509",
                           "-newkey",
                           "ec",
                           "-pkeyopt",
                           "ec_paramgen_curve:prime256v1",
                           "-nodes",
                           "-keyout",
                           pki.ca_key_file_,
                           "-out",
                           pki.ca_cert_file_,
                           "-days",
                           "2",
                           "-subj",
                           "/CN=" + ca_name,
                           "-addext",
                           "basicConstraints=critical,CA:TRUE",
                           "-addext",
                           "keyUsage=critical,keyCertSign,cRLSign"});
  if (!made.ok()) return made;
  return pki;
}

absl::StatusOr<IssuedCertificate> TestPki::Issue(
    const std::string& common_name) const {
  const std::string base = absl::StrCat(dir_, "/", common_name);
  IssuedCertificate issued{base + ".crt", base + ".key"};
  const std::string request = base + ".csr";
  const std::string extensions = base + ".ext";
  std::ofstream(extensions) << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                               "extendedKeyUsage=serverAuth,clientAuth\n"
                               "basicConstraints=CA:FALSE\n";
  absl::Status made =
      Run({kOpenssl, "req", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", issued.key_file,
           "-out", request, "-subj", "/CN=" + common_name});
  if (!made.ok()) return made;
  made = Run({kOpenssl, "x509", "-req", "-in", request, "-CA", ca_cert_file_,
              "-CAkey", ca_key_file_, "-CAcreateserial", "-out",
              issued.cert_file, "-days", "2", "-extfile", extensions});
  if (!made.ok()) return made;
  return issued;
}

}  // namespace aves::testing
