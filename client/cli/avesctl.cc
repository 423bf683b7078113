// avesctl: the command-line client of aves-data, built on client/lib only.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <absl/strings/str_split.h>
#include <absl/time/time.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "client/lib/admin_client.h"
#include "client/lib/annotation_client.h"
#include "client/lib/batch_job_client.h"
#include "client/lib/bulk_insert_client.h"
#include "client/lib/channel.h"
#include "client/lib/exercise_cache_client.h"
#include "client/lib/health_client.h"
#include "client/lib/row_files.h"
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
       [--conflict=a,b] [--update=c,d] FILE
                            Stream FILE's rows into T through BulkInsertService
                            (CSV with a header row, or JSON lines). A progress
                            bar on a terminal; a summary at the end. --resume
                            continues a load at its committed offset. Exits 3
                            when some rows were refused (see jobs errors).

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

// The value of --name, or "" when absent.
std::string Option(const std::map<std::string, std::string>& options,
                   const char* name) {
  auto it = options.find(name);
  return it == options.end() ? std::string() : it->second;
}

// Parses --name as an integer into `out` when present; false (with a message)
// when it is not a number.
template <typename Int>
bool IntOption(const std::map<std::string, std::string>& options,
               const char* name, Int* out) {
  auto it = options.find(name);
  if (it == options.end()) return true;
  if (!absl::SimpleAtoi(it->second, out)) {
    std::cerr << "error: --" << name << " wants a whole number\n";
    return false;
  }
  return true;
}

std::string TimeText(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S",
                          absl::FromUnixSeconds(time.seconds()),
                          absl::UTCTimeZone());
}

// "pending" -> PENDING of the enum whose value names start with `prefix`.
template <typename Enum, typename Parse>
bool ParseEnumOption(const std::string& text, const char* prefix, Parse parse,
                     Enum* out) {
  return parse(prefix + absl::AsciiStrToUpper(text), out) &&
         static_cast<int>(*out) != 0;
}

// Lower-case name of an enum value without its prefix ("PENDING" -> pending).
std::string EnumText(const std::string& full_name, size_t prefix_length) {
  return full_name.size() > prefix_length
             ? absl::AsciiStrToLower(full_name.substr(prefix_length))
             : "?";
}

// Sets page_size and page_token from --page-size / --page-token; false on a
// bad number.
template <typename Request>
bool FillPage(const std::map<std::string, std::string>& options,
              Request* request) {
  int32_t page_size = 0;
  if (!IntOption(options, "page-size", &page_size)) return false;
  request->set_page_size(page_size);
  request->set_page_token(Option(options, "page-token"));
  return true;
}

void PrintNextPage(const std::string& token) {
  if (!token.empty())
    std::cout << "\nnext page: --page-token=" << token << "\n";
}

std::string AnnotationStatusText(aves::data::v1::AnnotationStatus status) {
  return EnumText(aves::data::v1::AnnotationStatus_Name(status),
                  sizeof("ANNOTATION_STATUS_") - 1);
}

void PrintAnnotations(
    const google::protobuf::RepeatedPtrField<aves::data::v1::Annotation>&
        annotations) {
  std::vector<std::vector<std::string>> rows = {
      {"id", "image", "spanish", "english", "type", "confidence", "status",
       "created at"}};
  for (const auto& a : annotations) {
    char confidence[16];
    std::snprintf(confidence, sizeof confidence, "%.3f", a.confidence());
    rows.push_back({a.id(), a.image_id(), a.spanish_term(), a.english_term(),
                    a.annotation_type(), confidence,
                    AnnotationStatusText(a.status()),
                    TimeText(a.created_at())});
  }
  PrintTable(rows);
}

// One page of an annotation list: JSON, or a table and the next page's token.
template <typename Page>
int PrintAnnotationPage(const absl::StatusOr<Page>& page, bool json) {
  if (!page.ok()) return PrintError(page.status());
  if (json) {
    PrintJson(*page);
  } else {
    PrintAnnotations(page->annotations());
    PrintNextPage(page->next_page_token());
  }
  return 0;
}

int AnnotationsCommand(aves::client::AnnotationClient& client,
                       const std::string& verb,
                       const std::map<std::string, std::string>& options,
                       bool json) {
  namespace v1 = aves::data::v1;
  if (verb == "image") {
    if (!OnlyOptions(options,
                     {"image", "min-confidence", "page-size", "page-token"}))
      return 2;
    v1::ListImageAnnotationsRequest request;
    request.set_image_id(Option(options, "image"));
    if (options.count("min-confidence")) {
      float min = 0;
      if (!absl::SimpleAtof(Option(options, "min-confidence"), &min)) {
        std::cerr << "error: --min-confidence wants a number\n";
        return 2;
      }
      request.set_min_confidence(min);
    }
    if (!FillPage(options, &request)) return 2;
    auto page = client.ListImageAnnotations(request);
    return PrintAnnotationPage(page, json);
  }
  if (verb == "queue") {
    if (!OnlyOptions(options, {"status", "page-size", "page-token"})) return 2;
    v1::ListAnnotationsByStatusRequest request;
    v1::AnnotationStatus status = v1::ANNOTATION_STATUS_PENDING;
    if (options.count("status") &&
        !ParseEnumOption(Option(options, "status"), "ANNOTATION_STATUS_",
                         v1::AnnotationStatus_Parse, &status)) {
      std::cerr << "error: --status wants pending, approved, rejected or "
                   "edited\n";
      return 2;
    }
    request.set_status(status);
    if (!FillPage(options, &request)) return 2;
    auto page = client.ListAnnotationsByStatus(request);
    return PrintAnnotationPage(page, json);
  }
  if (verb == "review") {
    if (!OnlyOptions(options,
                     {"id", "decision", "reviewer", "expected", "spanish",
                      "english", "bounding-box", "type", "difficulty"}))
      return 2;
    v1::ReviewAnnotationRequest request;
    request.set_id(Option(options, "id"));
    v1::ReviewDecision decision = v1::REVIEW_DECISION_UNSPECIFIED;
    if (!ParseEnumOption(Option(options, "decision"), "REVIEW_DECISION_",
                         v1::ReviewDecision_Parse, &decision)) {
      std::cerr << "error: --decision wants approve, reject or edit\n";
      return 2;
    }
    request.set_decision(decision);
    request.set_reviewer(Option(options, "reviewer"));
    v1::AnnotationStatus expected = v1::ANNOTATION_STATUS_PENDING;
    if (options.count("expected") &&
        !ParseEnumOption(Option(options, "expected"), "ANNOTATION_STATUS_",
                         v1::AnnotationStatus_Parse, &expected)) {
      std::cerr << "error: --expected wants pending, approved, rejected or "
                   "edited\n";
      return 2;
    }
    request.set_expected_status(expected);
    if (options.count("spanish"))
      request.set_spanish_term(Option(options, "spanish"));
    if (options.count("english"))
      request.set_english_term(Option(options, "english"));
    if (options.count("bounding-box"))
      request.set_bounding_box(Option(options, "bounding-box"));
    if (options.count("type"))
      request.set_annotation_type(Option(options, "type"));
    if (options.count("difficulty")) {
      int32_t difficulty = 0;
      if (!IntOption(options, "difficulty", &difficulty)) return 2;
      request.set_difficulty_level(difficulty);
    }
    auto annotation = client.ReviewAnnotation(request);
    if (!annotation.ok()) return PrintError(annotation.status());
    if (json) {
      PrintJson(*annotation);
    } else {
      google::protobuf::RepeatedPtrField<v1::Annotation> one;
      *one.Add() = *annotation;
      PrintAnnotations(one);
    }
    return 0;
  }
  std::cerr << "error: unknown annotations command '" << verb
            << "' (image, queue, review)\n";
  return 2;
}

std::string JobStatusText(aves::data::v1::JobStatus status) {
  return EnumText(aves::data::v1::JobStatus_Name(status),
                  sizeof("JOB_STATUS_") - 1);
}

std::vector<std::string> JobRow(const aves::data::v1::Job& job) {
  return {job.id(),
          job.job_type(),
          JobStatusText(job.status()),
          absl::StrCat(job.processed_items(), "/", job.total_items()),
          std::to_string(job.failed_items()),
          TimeText(job.created_at()),
          TimeText(job.updated_at())};
}

const std::vector<std::string> kJobHeader = {
    "id", "type", "status", "processed", "failed", "created at", "updated at"};

// Fills statuses and job_type of ListJobs / WatchJobs; false on a bad option.
template <typename Request>
bool FillJobFilter(const std::map<std::string, std::string>& options,
                   Request* request) {
  namespace v1 = aves::data::v1;
  if (options.count("status")) {
    for (absl::string_view name :
         absl::StrSplit(Option(options, "status"), ',', absl::SkipEmpty())) {
      v1::JobStatus status = v1::JOB_STATUS_UNSPECIFIED;
      if (!ParseEnumOption(std::string(name), "JOB_STATUS_",
                           v1::JobStatus_Parse, &status)) {
        std::cerr << "error: --status wants pending, processing, completed, "
                     "failed or cancelled (comma-separated)\n";
        return false;
      }
      request->add_statuses(status);
    }
  }
  if (options.count("type")) request->set_job_type(Option(options, "type"));
  return true;
}

int JobsCommand(aves::client::BatchJobClient& client, const std::string& verb,
                const std::map<std::string, std::string>& options, bool json) {
  namespace v1 = aves::data::v1;
  if (verb == "list") {
    if (!OnlyOptions(options, {"status", "type", "page-size", "page-token"}))
      return 2;
    v1::ListJobsRequest request;
    if (!FillJobFilter(options, &request)) return 2;
    if (!FillPage(options, &request)) return 2;
    auto page = client.ListJobs(request);
    if (!page.ok()) return PrintError(page.status());
    if (json) {
      PrintJson(*page);
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {kJobHeader};
    for (const v1::Job& job : page->jobs()) rows.push_back(JobRow(job));
    PrintTable(rows);
    PrintNextPage(page->next_page_token());
    return 0;
  }
  if (verb == "get") {
    if (!OnlyOptions(options, {"id"})) return 2;
    auto job = client.GetJob(Option(options, "id"));
    if (!job.ok()) return PrintError(job.status());
    if (json) {
      PrintJson(*job);
      return 0;
    }
    PrintTable({{"field", "value"},
                {"id", job->id()},
                {"job_type", job->job_type()},
                {"status", JobStatusText(job->status())},
                {"total_items", std::to_string(job->total_items())},
                {"processed_items", std::to_string(job->processed_items())},
                {"failed_items", std::to_string(job->failed_items())},
                {"created_at", TimeText(job->created_at())},
                {"started_at", TimeText(job->started_at())},
                {"completed_at", TimeText(job->completed_at())},
                {"updated_at", TimeText(job->updated_at())},
                {"metadata", job->metadata()}});
    return 0;
  }
  if (verb == "errors") {
    if (!OnlyOptions(options, {"job", "page-size", "page-token"})) return 2;
    v1::ListJobErrorsRequest request;
    request.set_job_id(Option(options, "job"));
    if (!FillPage(options, &request)) return 2;
    auto page = client.ListJobErrors(request);
    if (!page.ok()) return PrintError(page.status());
    if (json) {
      PrintJson(*page);
      return 0;
    }
    std::vector<std::vector<std::string>> rows = {
        {"id", "item", "item id", "message", "created at"}};
    for (const v1::JobError& error : page->errors()) {
      rows.push_back(
          {std::to_string(error.id()),
           error.has_item_index() ? std::to_string(error.item_index()) : "-",
           error.has_item_id() ? error.item_id() : "-", error.error_message(),
           TimeText(error.created_at())});
    }
    PrintTable(rows);
    PrintNextPage(page->next_page_token());
    return 0;
  }
  if (verb == "watch") {
    if (!OnlyOptions(options, {"status", "type", "count"})) return 2;
    v1::WatchJobsRequest request;
    if (!FillJobFilter(options, &request)) return 2;
    int64_t count = -1;  // changes to print before stopping; -1: no limit
    if (!IntOption(options, "count", &count)) return 2;
    int64_t changes = 0;
    absl::Status status = client.WatchJobs(request, [&](const auto& event) {
      if (json) {
        std::string line;
        google::protobuf::util::JsonPrintOptions print;
        print.preserve_proto_field_names = true;
        (void)google::protobuf::util::MessageToJsonString(event, &line, print);
        std::cout << line << std::endl;
      } else if (event.type() == v1::JOB_EVENT_TYPE_SNAPSHOT_COMPLETE) {
        std::cout << "-- snapshot complete; watching for changes --"
                  << std::endl;
      } else {
        const std::vector<std::string> row = JobRow(event.job());
        std::cout << EnumText(v1::JobEventType_Name(event.type()),
                              sizeof("JOB_EVENT_TYPE_") - 1)
                  << "  " << row[0] << "  " << row[1] << "  " << row[2] << "  "
                  << row[3] << " processed, " << row[4] << " failed"
                  << std::endl;
      }
      if (event.type() == v1::JOB_EVENT_TYPE_CREATED ||
          event.type() == v1::JOB_EVENT_TYPE_UPDATED ||
          event.type() == v1::JOB_EVENT_TYPE_DELETED) {
        ++changes;
      }
      return count < 0 || changes < count;
    });
    if (!status.ok()) return PrintError(status);
    return 0;
  }
  std::cerr << "error: unknown jobs command '" << verb
            << "' (list, get, errors, watch)\n";
  return 2;
}

int LoadCommand(const std::string& address, const std::string& path,
                const std::map<std::string, std::string>& options, bool json) {
  namespace v1 = aves::data::v1;
  if (!OnlyOptions(options,
                   {"table", "columns", "format", "batch-size", "load-id",
                    "resume", "mode", "atomic", "conflict", "update"}))
    return 2;
  absl::StatusOr<std::unique_ptr<aves::client::RowFile>> file =
      aves::client::RowFile::Open(
          path, options.count("format") ? Option(options, "format") : "csv");
  if (!file.ok()) return PrintError(file.status());
  v1::InsertHeader header;
  header.set_table(Option(options, "table"));
  std::vector<std::string> columns = (*file)->columns();
  if (options.count("columns")) {
    columns =
        absl::StrSplit(Option(options, "columns"), ',', absl::SkipEmpty());
    for (const std::string& column : columns) {
      if (std::find((*file)->columns().begin(), (*file)->columns().end(),
                    column) == (*file)->columns().end()) {
        std::cerr << "error: --columns: '" << column << "' is not in " << path
                  << "\n";
        return 2;
      }
    }
  }
  for (const std::string& column : columns) header.add_columns(column);
  v1::InsertMode mode = v1::INSERT_MODE_INSERT;
  if (options.count("mode") &&
      !ParseEnumOption(Option(options, "mode"), "INSERT_MODE_",
                       v1::InsertMode_Parse, &mode)) {
    std::cerr << "error: --mode wants insert, upsert or returning\n";
    return 2;
  }
  header.set_mode(mode);
  for (const absl::string_view column :
       absl::StrSplit(Option(options, "conflict"), ',', absl::SkipEmpty()))
    header.add_conflict_columns(std::string(column));
  for (const absl::string_view column :
       absl::StrSplit(Option(options, "update"), ',', absl::SkipEmpty()))
    header.add_update_columns(std::string(column));
  if (options.count("atomic")) {
    const std::string atomic = Option(options, "atomic");
    if (atomic != "true" && atomic != "false") {
      std::cerr << "error: --atomic wants true or false\n";
      return 2;
    }
    header.set_atomic(atomic == "true");
  }
  int32_t batch_size = 0;
  if (!IntOption(options, "batch-size", &batch_size)) return 2;
  header.set_batch_size(batch_size);
  header.set_load_id(options.count("resume") ? Option(options, "resume")
                                             : Option(options, "load-id"));
  const std::optional<int64_t> total = (*file)->CountRows();
  if (total.has_value()) header.set_total_rows(*total);

  // A progress bar only for a person watching.
  const bool terminal = isatty(STDERR_FILENO) != 0;
  const absl::Time start = absl::Now();
  aves::client::LoadOptions load;
  load.on_progress = [&](const v1::InsertProgress& progress) {
    if (!terminal) return;
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    const double rate =
        seconds > 0 ? static_cast<double>(progress.committed_offset()) / seconds
                    : 0;
    std::string bar;
    if (total.has_value() && *total > 0) {
      const double done = std::min(
          1.0, static_cast<double>(progress.committed_offset()) / *total);
      const int filled = static_cast<int>(done * 30);
      bar = absl::StrCat("[", std::string(filled, '#'),
                         std::string(30 - filled, ' '), "] ",
                         static_cast<int>(done * 100), "% ");
      if (rate > 0 && done < 1.0) {
        absl::StrAppend(
            &bar, "ETA ",
            static_cast<int>((*total - progress.committed_offset()) / rate),
            " s ");
      }
    }
    std::fprintf(
        stderr, "\r%s%lld rows, %.0f rows/s, %.1f s elapsed   ", bar.c_str(),
        static_cast<long long>(progress.committed_offset()), rate, seconds);
    std::fflush(stderr);
  };
  absl::Status read_error;
  absl::StatusOr<v1::InsertSummary> summary =
      aves::client::BulkInsertClient(aves::client::MakeChannel(address))
          .Load(
              header,
              [&](int64_t, v1::Row* row) {
                absl::StatusOr<bool> more = (*file)->Next(columns, row);
                if (!more.ok()) {
                  read_error = more.status();
                  return false;
                }
                return *more;
              },
              load);
  if (terminal) std::fprintf(stderr, "\n");
  if (!read_error.ok()) return PrintError(read_error);
  if (!summary.ok()) return PrintError(summary.status());
  const v1::InsertProgress& totals = summary->totals();
  if (json) {
    PrintJson(*summary);
  } else {
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::cout << "loaded " << totals.rows_inserted() << " rows into "
              << header.table() << " (" << totals.rows_updated() << " updated, "
              << totals.rows_failed() << " refused, "
              << totals.batches_committed() << " batches) in "
              << absl::StrFormat("%.1f", seconds) << " s, "
              << absl::StrFormat(
                     "%.0f", totals.rows_inserted() / std::max(seconds, 1e-3))
              << " rows/s\nload id " << summary->load_id() << ", job "
              << summary->job_id() << ", committed offset "
              << totals.committed_offset() << "\n";
  }
  return totals.rows_failed() > 0 ? 3 : 0;
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
    } else if (arg == "--atomic") {
      options["atomic"] = "true";  // load's switch, as --atomic=true
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
  if (commands[0] == "annotations" && commands.size() == 2) {
    aves::client::CallOptions call;
    call.timeout = timeout;
    aves::client::AnnotationClient annotations(
        aves::client::MakeChannel(address), call);
    return AnnotationsCommand(annotations, commands[1], options, json);
  }
  if (commands[0] == "jobs" && commands.size() == 2) {
    aves::client::CallOptions call;
    call.timeout = timeout;
    aves::client::BatchJobClient jobs(aves::client::MakeChannel(address), call);
    return JobsCommand(jobs, commands[1], options, json);
  }
  if (commands[0] == "load" && commands.size() == 2) {
    return LoadCommand(address, commands[1], options, json);
  }
  std::cerr << "error: unknown command '" << commands[0] << "'\n";
  return Usage(std::cerr, 2);
}
