// cache get | get-many | put | purge: ExerciseCacheService; cache stats:
// AdminService.GetCacheStats (avesd's in-process lookup cache).
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <absl/strings/ascii.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "client/lib/admin_client.h"
#include "client/lib/channel.h"
#include "client/lib/exercise_cache_client.h"

namespace aves::cli {
namespace {

namespace v1 = data::v1;
using google::protobuf::util::TimeUtil;

// Key/value lines for one exercise.
void PrintExercise(const v1::Exercise& exercise) {
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
bool FillKey(const CommandOptions& options, Request* request) {
  request->set_user_id(options.Get("user"));
  request->set_exercise_type(options.Get("type"));
  int difficulty = 0;
  if (options.Has("difficulty") &&
      !absl::SimpleAtoi(options.Get("difficulty"), &difficulty)) {
    std::cerr << "error: --difficulty wants a whole number\n";
    return false;
  }
  request->set_difficulty_level(difficulty);
  if (options.Has("topic")) request->set_topic(options.Get("topic"));
  return true;
}

int Get(client::ExerciseCacheClient& cache, const Invocation& invocation) {
  const CommandOptions& options = invocation.options;
  if (!options.Only({"user", "type", "difficulty", "topic"})) return 2;
  v1::GetExerciseRequest request;
  if (!FillKey(options, &request)) return 2;
  absl::StatusOr<v1::Exercise> exercise = cache.GetExercise(request);
  if (!exercise.ok()) return PrintError(exercise.status());
  invocation.json ? PrintJson(*exercise) : PrintExercise(*exercise);
  return 0;
}

int Put(client::ExerciseCacheClient& cache, const Invocation& invocation) {
  const CommandOptions& options = invocation.options;
  if (!options.Only({"user", "type", "difficulty", "topic", "data", "ttl"}))
    return 2;
  v1::PutExerciseRequest request;
  if (!FillKey(options, &request)) return 2;
  if (options.Has("data")) request.set_exercise_data(options.Get("data"));
  if (options.Has("ttl")) {
    double seconds = 0;
    if (!absl::SimpleAtod(options.Get("ttl"), &seconds)) {
      std::cerr << "error: --ttl wants seconds\n";
      return 2;
    }
    *request.mutable_ttl() =
        TimeUtil::MicrosecondsToDuration(static_cast<int64_t>(seconds * 1e6));
  }
  absl::StatusOr<v1::Exercise> exercise = cache.PutExercise(request);
  if (!exercise.ok()) return PrintError(exercise.status());
  invocation.json ? PrintJson(*exercise) : PrintExercise(*exercise);
  return 0;
}

int Purge(client::ExerciseCacheClient& cache, const Invocation& invocation) {
  const CommandOptions& options = invocation.options;
  if (!options.Only({"max-rows"})) return 2;
  int64_t max_rows = 0;
  if (!options.Int("max-rows", &max_rows)) return 2;
  absl::StatusOr<v1::PurgeExpiredResponse> purged =
      cache.PurgeExpired(max_rows);
  if (!purged.ok()) return PrintError(purged.status());
  if (invocation.json) {
    PrintJson(*purged);
  } else {
    std::cout << "deleted " << purged->deleted() << " expired exercises in "
              << purged->batches() << " batches\n";
  }
  return 0;
}

// Keys as JSON lines (GetExerciseRequest's fields) from `path` or stdin
// ("-"), looked up in one BatchGetExercises.
int GetMany(client::ExerciseCacheClient& cache, const Invocation& invocation,
            const std::string& path) {
  if (!invocation.options.Only({})) return 2;
  std::ifstream file;
  if (path != "-") {
    file.open(path);
    if (!file) {
      std::cerr << "error: cannot read " << path << "\n";
      return 2;
    }
  }
  std::istream& in = path == "-" ? std::cin : file;
  // The server takes at most 10,000 keys (AVES_BATCH_GET_MAX's ceiling) and
  // a key is a few hundred bytes: more input than that is refused here,
  // before it is held in memory.
  constexpr int kMostKeys = 10'000;
  constexpr size_t kLongestLine = 4096;
  v1::BatchGetExercisesRequest request;
  std::vector<char> buffer(kLongestLine + 2);  // the line, its end, a NUL
  for (int number = 1;; ++number) {
    // Bounded: a longer line stops the read (failbit) instead of growing.
    if (!in.getline(buffer.data(),
                    static_cast<std::streamsize>(buffer.size()))) {
      if (in.eof() && in.gcount() == 0) break;
      if (!in.eof()) {
        std::cerr << "error: line " << number << " is longer than "
                  << kLongestLine << " bytes\n";
        return 2;
      }
    }
    const std::string line(buffer.data());
    if (absl::StripAsciiWhitespace(line).empty()) {
      if (in.eof()) break;
      continue;
    }
    if (request.requests_size() == kMostKeys) {
      std::cerr << "error: more than " << kMostKeys << " keys\n";
      return 2;
    }
    const auto parsed = google::protobuf::util::JsonStringToMessage(
        line, request.add_requests());
    if (!parsed.ok()) {
      std::cerr << "error: line " << number << " is not a key ("
                << parsed.message() << ")\n";
      return 2;
    }
  }
  absl::StatusOr<v1::BatchGetExercisesResponse> response =
      cache.BatchGetExercises(request);
  if (!response.ok()) return PrintError(response.status());
  if (invocation.json) {
    PrintJson(*response);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"#", "found", "user_id", "exercise_type", "difficulty", "topic", "id"}};
  int found = 0;
  for (int i = 0; i < response->results_size(); ++i) {
    const v1::GetExerciseRequest& key = request.requests(i);
    const v1::ExerciseResult& result = response->results(i);
    found += result.found() ? 1 : 0;
    rows.push_back({std::to_string(i), result.found() ? "yes" : "no",
                    key.user_id(), key.exercise_type(),
                    std::to_string(key.difficulty_level()),
                    key.has_topic() ? key.topic() : "-",
                    result.found() ? result.exercise().id() : "-"});
  }
  PrintTable(rows);
  std::cout << found << " of " << response->results_size() << " found\n";
  return 0;
}

int Stats(const Invocation& invocation) {
  absl::StatusOr<data::v1::GetCacheStatsResponse> s =
      client::AdminClient(ChannelOf(invocation), CallOptionsOf(invocation))
          .GetCacheStats();
  if (!s.ok()) return PrintError(s.status());
  if (invocation.json) {
    PrintJson(*s);
    return 0;
  }
  std::cout << "lookup cache: "
            << (!s->enabled()   ? "off (AVES_CACHE_MAX_ENTRIES or "
                                  "AVES_CACHE_MAX_BYTES is 0)"
                : s->bypassed() ? "BYPASSED (not listening for invalidations)"
                                : "on")
            << "\n\n";
  PrintTable(
      {{"size", "entries", "max entries", "bytes", "max bytes"},
       {"", std::to_string(s->entries()), std::to_string(s->max_entries()),
        std::to_string(s->bytes()), std::to_string(s->max_bytes())}});
  std::cout << "\nhit rate: " << absl::StrFormat("%.1f%%", 100 * s->hit_rate())
            << "\n\n";
  std::vector<std::vector<std::string>> counters = {{"counter", "value"}};
  auto add = [&counters](const std::string& name, uint64_t value) {
    counters.push_back({name, std::to_string(value)});
  };
  add("hits", s->hits());
  add("negative hits", s->negative_hits());
  add("misses", s->misses());
  add("evictions", s->evictions());
  add("expirations", s->expirations());
  add("invalidations", s->invalidations());
  add("flushes", s->flushes());
  add("stale fills dropped", s->stale_fills());
  add("invalidation messages", s->invalidation_messages());
  add("feed disconnects", s->feed_disconnects());
  PrintTable(counters);
  return 0;
}

}  // namespace

int CacheCommand(const Invocation& invocation) {
  client::ExerciseCacheClient cache(ChannelOf(invocation),
                                    CallOptionsOf(invocation));
  const std::string& verb = invocation.words[1];
  if (verb == "get-many") {
    if (invocation.words.size() != 3) {
      std::cerr << "error: cache get-many wants FILE (JSON lines) or -\n";
      return 2;
    }
    return GetMany(cache, invocation, invocation.words[2]);
  }
  if (invocation.words.size() != 2) {
    std::cerr << "error: cache " << verb << " takes no file\n";
    return 2;
  }
  if (verb == "get") return Get(cache, invocation);
  if (verb == "put") return Put(cache, invocation);
  if (verb == "purge") return Purge(cache, invocation);
  if (verb == "stats") return Stats(invocation);
  std::cerr << "error: unknown cache command '" << verb
            << "' (get, get-many, put, purge, stats)\n";
  return 2;
}

}  // namespace aves::cli
