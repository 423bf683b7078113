// avesctl: the command-line client of aves-data, built on client/lib only.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
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
#include "client/lib/exercise_cache_client.h"
#include "client/lib/health_client.h"
#include "client/lib/table.h"

namespace {

constexpr char kUsage[] = R"(avesctl: command-line client for aves-data

Usage: avesctl [--addr=HOST:PORT] [--timeout=SECONDS] COMMAND

Commands:
  health [--service=NAME]   Ask the server's grpc.health.v1 service. Prints
                            SERVING or NOT_SERVING; exits 0 only when SERVING.
  pool                      Connection-pool statistics (AdminService.GetPoolStats).
  verify-indexes            EXPLAIN every index-backed query (custom and generic
                            plans); exits 1 unless all use their indexes.
  cache get --user=UUID --type=T --difficulty=N [--topic=X]
                            The newest unexpired cached exercise; NOT_FOUND on a miss.
  cache put --user=UUID --type=T --difficulty=N [--topic=X] --data=JSON [--ttl=SECONDS]
                            Store an exercise (no --ttl: never expires).
  cache purge [--max-rows=N]
                            Delete expired exercises (all, or at most N).
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

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  aves::client::PrintTable(std::cout, rows);
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

int VerifyIndexesCommand(aves::client::AdminClient& admin, bool json) {
  absl::StatusOr<aves::data::v1::VerifyIndexesResponse> result =
      admin.VerifyIndexes();
  if (!result.ok()) return PrintError(result.status());
  if (json) {
    PrintJson(*result);
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"query", "plan", "intended index", "plan uses", "result"}};
    for (const auto& check : result->checks()) {
      std::string used;
      for (const std::string& index : check.plan_indexes())
        used += (used.empty() ? "" : ", ") + index;
      rows.push_back({check.query(), check.plan_mode(), check.intended_index(),
                      used.empty() ? "(no index)" : used,
                      check.passed() ? "pass" : "FAIL"});
    }
    PrintTable(rows);
    std::cout << (result->all_passed()
                      ? "all queries use their indexes"
                      : "some queries do not use their indexes")
              << "\n";
  }
  return result->all_passed() ? 0 : 1;
}

// Fails unless every option given is one of `allowed`.
bool OnlyOptions(const std::map<std::string, std::string>& options,
                 std::initializer_list<const char*> allowed) {
  for (const auto& [name, value] : options) {
    bool known = false;
    for (const char* candidate : allowed) known |= name == candidate;
    if (!known) {
      std::cerr << "error: unknown option --" << name << "\n";
      return false;
    }
  }
  return true;
}

// Key/value lines for one exercise.
void PrintExercise(const aves::data::v1::Exercise& exercise) {
  using google::protobuf::util::TimeUtil;
  PrintTable({{"field", "value"},
              {"id", exercise.id()},
              {"user_id", exercise.user_id()},
              {"exercise_type", exercise.exercise_type()},
              {"difficulty_level", std::to_string(exercise.difficulty_level())},
              {"topic", exercise.has_topic() ? exercise.topic() : "-"},
              {"created_at", TimeUtil::ToString(exercise.created_at())},
              {"expires_at", exercise.has_expires_at()
                                 ? TimeUtil::ToString(exercise.expires_at())
                                 : "never"},
              {"exercise_data", exercise.exercise_data()}});
}

// Fills the fields GetExercise and PutExercise share; false on a bad option.
template <typename Request>
bool FillKey(const std::map<std::string, std::string>& options,
             Request* request) {
  auto value = [&](const char* name) {
    auto it = options.find(name);
    return it == options.end() ? std::string() : it->second;
  };
  request->set_user_id(value("user"));
  request->set_exercise_type(value("type"));
  int difficulty = 0;
  if (options.count("difficulty") &&
      !absl::SimpleAtoi(value("difficulty"), &difficulty)) {
    std::cerr << "error: --difficulty wants a whole number\n";
    return false;
  }
  request->set_difficulty_level(difficulty);
  if (options.count("topic")) request->set_topic(value("topic"));
  return true;
}

int CacheCommand(aves::client::ExerciseCacheClient& cache,
                 const std::string& verb,
                 const std::map<std::string, std::string>& options, bool json) {
  if (verb == "get") {
    if (!OnlyOptions(options, {"user", "type", "difficulty", "topic"}))
      return 2;
    aves::data::v1::GetExerciseRequest request;
    if (!FillKey(options, &request)) return 2;
    absl::StatusOr<aves::data::v1::Exercise> exercise =
        cache.GetExercise(request);
    if (!exercise.ok()) return PrintError(exercise.status());
    json ? PrintJson(*exercise) : PrintExercise(*exercise);
    return 0;
  }
  if (verb == "put") {
    if (!OnlyOptions(options,
                     {"user", "type", "difficulty", "topic", "data", "ttl"}))
      return 2;
    aves::data::v1::PutExerciseRequest request;
    if (!FillKey(options, &request)) return 2;
    if (auto it = options.find("data"); it != options.end())
      request.set_exercise_data(it->second);
    if (auto it = options.find("ttl"); it != options.end()) {
      double seconds = 0;
      if (!absl::SimpleAtod(it->second, &seconds)) {
        std::cerr << "error: --ttl wants seconds\n";
        return 2;
      }
      *request.mutable_ttl() =
          google::protobuf::util::TimeUtil::MicrosecondsToDuration(
              static_cast<int64_t>(seconds * 1e6));
    }
    absl::StatusOr<aves::data::v1::Exercise> exercise =
        cache.PutExercise(request);
    if (!exercise.ok()) return PrintError(exercise.status());
    json ? PrintJson(*exercise) : PrintExercise(*exercise);
    return 0;
  }
  if (verb == "purge") {
    if (!OnlyOptions(options, {"max-rows"})) return 2;
    int64_t max_rows = 0;
    if (auto it = options.find("max-rows");
        it != options.end() && !absl::SimpleAtoi(it->second, &max_rows)) {
      std::cerr << "error: --max-rows wants a whole number\n";
      return 2;
    }
    absl::StatusOr<aves::data::v1::PurgeExpiredResponse> purged =
        cache.PurgeExpired(max_rows);
    if (!purged.ok()) return PrintError(purged.status());
    if (json) {
      PrintJson(*purged);
    } else {
      std::cout << "deleted " << purged->deleted() << " expired exercises in "
                << purged->batches() << " batches\n";
    }
    return 0;
  }
  std::cerr << "error: unknown cache command '" << verb
            << "' (get, put, purge)\n";
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
  bool json = false;
  std::map<std::string, std::string> options;
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
    } else if (absl::StartsWith(arg, "--") &&
               arg.find('=') != std::string::npos) {
      // Command options (--user=..., --ttl=...); each command checks its own.
      const size_t eq = arg.find('=');
      options[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
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
  if (commands[0] == "verify-indexes" && commands.size() == 1) {
    aves::client::AdminClient admin(aves::client::MakeChannel(address),
                                    timeout);
    return VerifyIndexesCommand(admin, json);
  }
  if (commands[0] == "cache" && commands.size() == 2) {
    aves::client::CallOptions call;
    call.timeout = timeout;
    aves::client::ExerciseCacheClient cache(aves::client::MakeChannel(address),
                                            call);
    return CacheCommand(cache, commands[1], options, json);
  }
  std::cerr << "error: unknown command '" << commands[0] << "'\n";
  return Usage(std::cerr, 2);
}
