// avesctl: the command-line client of aves-data, built on client/lib only.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/time/time.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "client/lib/admin_client.h"
#include "client/lib/channel.h"
#include "client/lib/health_client.h"

namespace {

constexpr char kUsage[] = R"(avesctl: command-line client for aves-data

Usage: avesctl [--addr=HOST:PORT] [--timeout=SECONDS] COMMAND

Commands:
  health [--service=NAME]   Ask the server's grpc.health.v1 service. Prints
                            SERVING or NOT_SERVING; exits 0 only when SERVING.
  pool                      Connection-pool statistics (AdminService.GetPoolStats).
  migrations                Applied and pending migrations; exits 3 when the
                            schema is not current.

Options:
  --addr=HOST:PORT   server address (default: $AVES_ADDR, else localhost:50051)
  --timeout=SECONDS  deadline of each call (default 5)
  --json             print the response as JSON (for scripts)
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

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::cout << json;
}

std::string Millis(const google::protobuf::Duration& duration) {
  const double ms =
      static_cast<double>(
          google::protobuf::util::TimeUtil::DurationToMicroseconds(duration)) /
      1000.0;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", ms);
  return buffer;
}

// Prints rows as aligned columns; the first row is the header.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i] + std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  }
}

int PoolCommand(aves::client::AdminClient& admin, bool json) {
  absl::StatusOr<aves::data::v1::GetPoolStatsResponse> stats =
      admin.GetPoolStats();
  if (!stats.ok()) return PrintError(stats.status());
  if (json) {
    PrintJson(*stats);
    return 0;
  }
  const auto& s = *stats;
  std::vector<std::vector<std::string>> rows = {
      {"connections", "total", "idle", "in use", "opening", "waiting", "min",
       "max"},
      {"", std::to_string(s.total()), std::to_string(s.idle()),
       std::to_string(s.in_use()), std::to_string(s.opening()),
       std::to_string(s.waiting()), std::to_string(s.min()),
       std::to_string(s.max())}};
  PrintTable(rows);
  std::cout << "\ndatabase reachable: "
            << (s.database_reachable() ? "yes" : "NO")
            << (s.last_connect_error().empty()
                    ? ""
                    : "  (last error: " + s.last_connect_error() + ")")
            << "\noldest waiter: " << Millis(s.oldest_waiter_age())
            << " ms\n\n";
  std::vector<std::vector<std::string>> counters = {{"counter", "value"}};
  auto add = [&counters](const std::string& name, int64_t value) {
    counters.push_back({name, std::to_string(value)});
  };
  add("connections opened", s.connections_opened());
  add("connect failures", s.connect_failures());
  add("connections closed", s.connections_closed());
  for (const auto& [reason, count] : s.discarded_by_reason())
    add("  closed: " + reason, count);
  add("acquired", s.acquired());
  add("acquire timeouts", s.acquire_timeouts());
  add("rejected (pool full)", s.rejected_full());
  add("rejected (database unreachable)", s.rejected_unavailable());
  add("queries cancelled", s.cancels());
  add("queries aborted", s.aborts());
  add("lease warnings", s.lease_warnings());
  for (const auto& [code, count] : s.errors_by_code())
    add("errors: " + code, count);
  add("errors in the last minute", s.errors_last_minute());
  PrintTable(counters);
  std::cout << "\n";
  std::vector<std::vector<std::string>> latencies = {
      {"latency (ms)", "count", "p50", "p95", "p99", "max"}};
  for (const auto& [name, summary] :
       {std::pair{"acquire wait", &s.acquire_wait()},
        std::pair{"query time", &s.query_time()}}) {
    latencies.push_back({name, std::to_string(summary->count()),
                         Millis(summary->p50()), Millis(summary->p95()),
                         Millis(summary->p99()), Millis(summary->max())});
  }
  PrintTable(latencies);
  return 0;
}

int MigrationsCommand(aves::client::AdminClient& admin, bool json) {
  absl::StatusOr<aves::data::v1::GetMigrationStatusResponse> status =
      admin.GetMigrationStatus();
  if (!status.ok()) return PrintError(status.status());
  if (json) {
    PrintJson(*status);
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"version", "name", "state", "applied at", "ms"}};
    for (const auto& migration : status->migrations()) {
      rows.push_back(
          {std::to_string(migration.version()), migration.name(),
           !migration.applied()            ? "pending"
           : migration.checksum_mismatch() ? "CHANGED"
                                           : "applied",
           migration.applied() ? google::protobuf::util::TimeUtil::ToString(
                                     migration.applied_at())
                               : "-",
           migration.applied() ? std::to_string(migration.duration_ms())
                               : "-"});
    }
    PrintTable(rows);
    std::cout << "schema "
              << (status->schema_current() ? "current" : "NOT current") << "\n";
  }
  return status->schema_current() ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env_addr = std::getenv("AVES_ADDR");
  std::string address = env_addr != nullptr && *env_addr
                            ? env_addr
                            : aves::client::kDefaultAddress;
  double timeout_seconds = 5;
  std::string service;
  bool json = false;
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
    } else if (arg == "--json") {
      json = true;
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
  if (commands[0] == "pool" && commands.size() == 1) {
    aves::client::AdminClient admin(aves::client::MakeChannel(address),
                                    timeout);
    return PoolCommand(admin, json);
  }
  if (commands[0] == "migrations" && commands.size() == 1) {
    aves::client::AdminClient admin(aves::client::MakeChannel(address),
                                    timeout);
    return MigrationsCommand(admin, json);
  }
  std::cerr << "error: unknown command '" << commands[0] << "'\n";
  return Usage(std::cerr, 2);
}
