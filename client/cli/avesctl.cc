// avesctl: the command-line client of aves-data, built on client/lib only.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/time/time.h>

#include "client/lib/channel.h"
#include "client/lib/health_client.h"

namespace {

constexpr char kUsage[] = R"(avesctl: command-line client for aves-data

Usage: avesctl [--addr=HOST:PORT] [--timeout=SECONDS] COMMAND

Commands:
  health [--service=NAME]   Ask the server's grpc.health.v1 service. Prints
                            SERVING or NOT_SERVING; exits 0 only when SERVING.

Options:
  --addr=HOST:PORT   server address (default: $AVES_ADDR, else localhost:50051)
  --timeout=SECONDS  deadline of each call (default 5)
  --help             this text
)";

int Usage(std::ostream& out, int exit_code) {
  out << kUsage;
  return exit_code;
}

// Prints "CODE: message" and returns the exit code for a failed call.
int PrintError(const absl::Status& status) {
  std::cerr << "error: " << absl::StatusCodeToString(status.code()) << ": "
            << status.message() << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env_addr = std::getenv("AVES_ADDR");
  std::string address = env_addr != nullptr && *env_addr
                            ? env_addr
                            : aves::client::kDefaultAddress;
  double timeout_seconds = 5;
  std::string service;
  std::vector<std::string> commands;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return Usage(std::cout, 0);
    if (absl::StartsWith(arg, "--addr=")) {
      address = arg.substr(7);
    } else if (absl::StartsWith(arg, "--timeout=")) {
      if (!absl::SimpleAtod(arg.substr(10), &timeout_seconds) ||
          timeout_seconds <= 0) {
        std::cerr << "error: --timeout wants a positive number of seconds\n";
        return 2;
      }
    } else if (absl::StartsWith(arg, "--service=")) {
      service = arg.substr(10);
    } else if (absl::StartsWith(arg, "-")) {
      std::cerr << "error: unknown option " << arg << "\n";
      return Usage(std::cerr, 2);
    } else {
      commands.push_back(arg);
    }
  }
  if (commands.empty()) return Usage(std::cerr, 2);

  const absl::Duration timeout = absl::Seconds(timeout_seconds);
  if (commands[0] == "health" && commands.size() == 1) {
    aves::client::HealthClient health(aves::client::MakeChannel(address));
    absl::StatusOr<aves::client::ServingStatus> status =
        health.Check(service, timeout);
    if (!status.ok()) return PrintError(status.status());
    std::cout << aves::client::ServingStatusName(*status) << "\n";
    return *status == aves::client::ServingStatus::kServing ? 0 : 1;
  }
  std::cerr << "error: unknown command '" << commands[0] << "'\n";
  return Usage(std::cerr, 2);
}
