// An avesd serving on a free port, as a real process (tests/support).
#ifndef AVES_TESTS_SUPPORT_AVESD_PROCESS_H_
#define AVES_TESTS_SUPPORT_AVESD_PROCESS_H_

#include <map>
#include <string>

#include <absl/status/statusor.h>

#include "client/lib/health_client.h"
#include "tests/support/subprocess.h"

namespace aves::testing {

class AvesdProcess {
 public:
  // Starts `avesd serve` on 127.0.0.1:0 against `database_url`, with health
  // re-checked every 100 ms and no scheduled maintenance
  // (AVES_ANALYZE_CHECK_MS=0); `env` adds or overrides settings.
  explicit AvesdProcess(const std::string& database_url,
                        std::map<std::string, std::string> env = {});

  // host:port once avesd listens (bounded wait); "" if it never did.
  std::string Address();
  // host:port of its HTTP listener (/metrics...); "" when it has none.
  std::string HttpAddress();
  // Polls health until it equals `wanted` (bounded: must not hang); returns
  // the last answer.
  absl::StatusOr<client::ServingStatus> WaitForHealth(
      client::ServingStatus wanted);

  Subprocess& process() { return process_; }

 private:
  std::string port_file_;
  std::string http_port_file_;
  Subprocess process_;
  std::string port_;
};

}  // namespace aves::testing

#endif  // AVES_TESTS_SUPPORT_AVESD_PROCESS_H_
