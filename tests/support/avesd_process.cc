#include "tests/support/avesd_process.h"

#include <absl/time/clock.h>

#include "client/lib/channel.h"

namespace aves::testing {
namespace {

std::map<std::string, std::string> ServerEnv(
    const std::string& database_url, std::map<std::string, std::string> env) {
  env.emplace("DATABASE_URL", database_url);
  env.emplace("AVES_HEALTH_INTERVAL_MS", "100");
  // Tests run side by side: a free port each, not 9464.
  env.emplace("AVES_HTTP_LISTEN", "127.0.0.1:0");
  // A scheduled ANALYZE job would appear in tests' job lists; the
  // maintenance tests turn it on.
  env.emplace("AVES_ANALYZE_CHECK_MS", "0");
  return env;
}

}  // namespace

AvesdProcess::AvesdProcess(const std::string& database_url,
                           std::map<std::string, std::string> env)
    : port_file_(MakeTempDir() + "/port"),
      http_port_file_(port_file_ + ".http"),
      process_(
          {AVESD_PATH, "serve", "--listen=127.0.0.1:0",
           "--port_file=" + port_file_, "--http_port_file=" + http_port_file_},
          ServerEnv(database_url, std::move(env))) {}

std::string AvesdProcess::Address() {
  for (int i = 0; i < 1500 && port_.empty(); ++i) {
    std::string text = ReadFileOrEmpty(port_file_);
    if (!text.empty() && text.back() == '\n')
      port_ = text.substr(0, text.size() - 1);
    if (port_.empty()) absl::SleepFor(absl::Milliseconds(20));
  }
  return port_.empty() ? "" : "127.0.0.1:" + port_;
}

std::string AvesdProcess::HttpAddress() {
  // The HTTP port is written before the gRPC one.
  if (Address().empty()) return "";
  std::string text = ReadFileOrEmpty(http_port_file_);
  if (text.empty() || text.back() != '\n' || text == "0\n") return "";
  return "127.0.0.1:" + text.substr(0, text.size() - 1);
}

absl::StatusOr<client::ServingStatus> AvesdProcess::WaitForHealth(
    client::ServingStatus wanted) {
  client::HealthClient health(client::MakeChannel(Address()),
                              client::CallOptions{absl::Seconds(2)});
  absl::StatusOr<client::ServingStatus> status;
  for (int i = 0; i < 600; ++i) {
    status = health.Check("");
    if (status.ok() && *status == wanted) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return status;
}

}  // namespace aves::testing
