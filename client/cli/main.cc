// avesctl: the command-line client of aves-data, built on client/lib only.
// This file reads the command line and hands it to the command
// (commands.h); each command group lives in a file of its own.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <absl/strings/ascii.h>

#include "client/cli/arguments.h"
#include "client/cli/commands.h"
#include "client/lib/channel.h"

namespace {

constexpr char kUsage[] = R"(avesctl: command-line client for aves-data

Usage: avesctl [--addr=HOST:PORT] [--timeout=SECONDS] COMMAND

Commands:
  health [--service=NAME]   Ask the server's grpc.health.v1 service. Prints
                            SERVING or NOT_SERVING; exits 0 only when SERVING.
  pool                      Connection-pool statistics (AdminService.GetPoolStats).
  verify-indexes            EXPLAIN every index-backed query (custom and generic
                            plans): whether it can use its index (sequential
                            scans off) and whether the planner chooses it at
                            the current table sizes; exits 1 unless every
                            query can use its index.
  slow-queries [--limit=N]  The last statements slower than AVES_SLOW_QUERY_MS,
                            newest first, with their plans
                            (AdminService.ListSlowQueries).
  top [--by=total|mean|calls] [--limit=N]
                            Statements by time or calls over the last window of
                            pg_stat_statements (AdminService.GetQueryStats).
  cache get --user=UUID --type=T --difficulty=N [--topic=X]
                            The newest unexpired cached exercise; NOT_FOUND on a miss.
  cache get-many FILE|-     Look up many keys in one call (BatchGetExercises):
                            FILE holds one key a line as JSON, e.g.
                            {"user_id": "...", "exercise_type": "identify",
                             "difficulty_level": 2, "topic": "birds"}
  cache put --user=UUID --type=T --difficulty=N [--topic=X] --data=JSON [--ttl=SECONDS]
                            Store an exercise (no --ttl: never expires).
  cache purge [--max-rows=N]
                            Delete expired exercises (all, or at most N).
  cache stats               avesd's in-process lookup cache: size, hit rate,
                            evictions, invalidations (AdminService.GetCacheStats).
  migrations                Applied and pending migrations; exits 3 when the
                            schema is not current.
  maintenance status        Every index of the service's tables: valid, scans,
                            size, estimated bloat, the indexes covering it
                            (AdminService.GetIndexHealth).
  maintenance analyze [--table=T] [--dry-run]
                            ANALYZE every service table (or T) now, as one
                            maintenance_analyze job (AdminService.RunAnalyze;
                            waits up to 15 min or --timeout); --dry-run shows
                            each table's rows modified since its last ANALYZE
                            and whether avesd's next check would analyze it.
  maintenance reindex --index=NAME
                            Rebuild one index with REINDEX INDEX CONCURRENTLY
                            (writes go on), as one maintenance_reindex job
                            (AdminService.ReindexIndex; waits up to 15 min).
  annotations image --image=UUID [--min-confidence=X] [--page-size=N] [--page-token=T]
                            An image's annotations, highest confidence first.
  annotations queue [--status=pending|approved|rejected|edited] [--page-size=N] [--page-token=T]
                            Annotations in a review status (default: pending),
                            newest first.
  annotations review --id=UUID --decision=approve|reject|edit --reviewer=NAME
                     [--expected=STATUS] [--spanish=T] [--english=T]
                     [--bounding-box=JSON] [--type=T] [--difficulty=N]
                            Record a decision; fails with FAILED_PRECONDITION when
                            the item is no longer in --expected (default pending).
  jobs list [--status=S1,S2] [--type=T] [--page-size=N] [--page-token=T]
                            Batch jobs, newest first (all statuses by default).
  jobs get --id=UUID        One job.
  jobs errors --job=UUID [--page-size=N] [--page-token=T]
                            A job's errors, newest first.
  jobs watch [--status=S1,S2] [--type=T] [--count=N]
                            Stream the matching jobs, then every change; stops
                            after N changes (default: until interrupted).
  load --table=T [--columns=a,b,c] [--format=csv|jsonl] [--batch-size=N]
       [--load-id=ID | --resume=ID] [--mode=insert|upsert] [--atomic]
       [--conflict=a,b] [--update=c,d] [--max-errors=N] FILE
                            Stream FILE's rows into T through BulkInsertService
                            (CSV with a header row, or JSON lines). A progress
                            bar on a terminal; a summary at the end. --resume
                            continues a load at its committed offset; a load
                            refusing more than --max-errors rows (default the
                            server's, 1000) fails. Exits 3
                            when some rows of the load were refused, in this
                            call or an earlier one (see jobs errors).

Options:
  --addr=HOST:PORT   server address (default: $AVES_ADDR, else localhost:50051)
  --timeout=SECONDS  deadline of each call (default 5)
  --json             print the response as JSON (for scripts)
  --tls              TLS, trusting the system's CAs (default: $AVES_TLS=1)
  --ca=FILE          TLS, trusting the CAs in FILE ($AVES_CA_FILE)
  --cert=FILE --key=FILE
                     a client certificate for mutual TLS ($AVES_CERT_FILE,
                     $AVES_KEY_FILE)
  --server-name=NAME the name the server's certificate must carry, when not
                     the address's host ($AVES_SERVER_NAME)
  --token-file=FILE  send the bearer token in FILE ($AVES_TOKEN_FILE)
  --token=TOKEN      send TOKEN ($AVES_TOKEN; a flag shows in ps: prefer
                     the file). A flag beats both variables; of the two
                     variables, the file wins
  --help             this text
)";

int Usage(std::ostream& out, int exit_code) {
  out << kUsage;
  return exit_code;
}

// A command: its first word, how many words it takes, and its function.
struct Command {
  const char* name;
  size_t words;
  int (*run)(const aves::cli::Invocation&);
};

constexpr Command kCommands[] = {
    {"health", 1, aves::cli::HealthCommand},
    {"pool", 1, aves::cli::PoolCommand},
    {"migrations", 1, aves::cli::MigrationsCommand},
    {"verify-indexes", 1, aves::cli::VerifyIndexesCommand},
    {"slow-queries", 1, aves::cli::SlowQueriesCommand},
    {"top", 1, aves::cli::TopCommand},
    {"cache", 2, aves::cli::CacheCommand},
    {"cache", 3, aves::cli::CacheCommand},  // get-many FILE
    {"annotations", 2, aves::cli::AnnotationsCommand},
    {"jobs", 2, aves::cli::JobsCommand},
    {"load", 2, aves::cli::LoadCommand},
    {"maintenance", 2, aves::cli::MaintenanceCommand},
};

}  // namespace

int main(int argc, char** argv) {
  const auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return std::string(value != nullptr ? value : "");
  };
  const std::string env_addr = env("AVES_ADDR");
  aves::cli::TlsFlags tls;
  tls.tls = env("AVES_TLS") == "1" || env("AVES_TLS") == "true";
  tls.ca_file = env("AVES_CA_FILE");
  tls.cert_file = env("AVES_CERT_FILE");
  tls.key_file = env("AVES_KEY_FILE");
  tls.server_name = env("AVES_SERVER_NAME");
  tls.token = env("AVES_TOKEN");
  tls.token_file = env("AVES_TOKEN_FILE");
  aves::cli::ParsedArguments parsed = aves::cli::ParseArguments(
      std::vector<std::string>(argv + 1, argv + argc),
      !env_addr.empty() ? env_addr : aves::client::kDefaultAddress, tls);
  if (parsed.help) return Usage(std::cout, 0);
  if (!parsed.invocation.has_value()) {
    std::cerr << "error: " << parsed.error << "\n";
    return parsed.show_usage ? Usage(std::cerr, 2) : 2;
  }
  aves::cli::Invocation& invocation = *parsed.invocation;
  absl::StatusOr<aves::client::ChannelSecurity> security =
      aves::client::ChannelSecurity::FromFiles(
          invocation.tls.tls, invocation.tls.ca_file, invocation.tls.cert_file,
          invocation.tls.key_file, invocation.tls.server_name);
  if (!security.ok()) {
    std::cerr << "error: " << security.status().message() << "\n";
    return 2;
  }
  invocation.security = *std::move(security);
  if (!invocation.tls.token_file.empty()) {
    std::ifstream file(invocation.tls.token_file, std::ios::binary);
    std::string token((std::istreambuf_iterator<char>(file)), {});
    token = std::string(absl::StripAsciiWhitespace(token));
    if (!file.is_open() || token.empty()) {
      std::cerr << "error: cannot read a token from "
                << invocation.tls.token_file << "\n";
      return 2;
    }
    invocation.security.bearer_token = std::move(token);
  } else {
    invocation.security.bearer_token = invocation.tls.token;
  }
  if (invocation.words.empty()) return Usage(std::cerr, 2);
  for (const Command& command : kCommands) {
    if (invocation.words[0] == command.name &&
        invocation.words.size() == command.words) {
      return command.run(invocation);
    }
  }
  std::cerr << "error: unknown command '" << invocation.words[0] << "'\n";
  return Usage(std::cerr, 2);
}
