#include "tests/support/sample_data.h"

#include <array>
#include <cstdio>
#include <optional>
#include <random>
#include <tuple>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <absl/time/clock.h>
#include <absl/time/time.h>
#include <pqxx/pqxx>

#include "server/common/status_macros.h"
#include "server/db/errors.h"
#include "tests/support/fixture_loader.h"

namespace aves::testing {
namespace {

using bulk::CellValue;

constexpr std::array<const char*, 5> kExerciseTypes = {
    "visual_discrimination", "term_matching", "audio_recognition",
    "sentence_building", "contextual_fill"};
constexpr std::array<const char*, 10> kJobTypes = {
    "ai_annotation", "bulk_insert", "image_import", "thumbnail", "translation",
    "cache_warmup",  "export",      "reindex",      "audit",     "cleanup"};

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t HashString(absl::string_view text) {
  uint64_t hash = 1469598103934665603ULL;  // FNV-1a
  for (char c : text)
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return hash;
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}
  double Uniform() {
    return std::uniform_real_distribution<double>(0, 1)(rng_);
  }
  int64_t Below(int64_t n) {
    return std::uniform_int_distribution<int64_t>(0, n - 1)(rng_);
  }
  absl::Time Before(absl::Time reference, absl::Duration span) {
    return reference - absl::Seconds(Uniform() * absl::ToDoubleSeconds(span));
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

std::string SampleUuid(absl::string_view table, int64_t index, uint64_t seed) {
  const uint64_t base = SplitMix(HashString(table) ^ SplitMix(seed));
  const uint64_t high = SplitMix(base ^ static_cast<uint64_t>(index));
  uint64_t low = SplitMix(high ^ 0x5555555555555555ULL);
  // Version 4, RFC 4122 variant.
  const uint64_t high_v4 =
      (high & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
  low = (low & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
  return absl::StrFormat("%08x-%04x-%04x-%04x-%012x", high_v4 >> 32,
                         (high_v4 >> 16) & 0xFFFF, high_v4 & 0xFFFF, low >> 48,
                         low & 0xFFFFFFFFFFFFULL);
}

absl::StatusOr<SampleKeys> LoadSampleData(const std::string& conninfo,
                                          const SampleDataShape& shape) {
  const absl::Time now = absl::Now();
  Generator gen(shape.seed);
  SampleKeys keys;
  ASSIGN_OR_RETURN(std::unique_ptr<FixtureLoader> loader,
                   FixtureLoader::Create(conninfo));

  // exercise_cache
  RETURN_IF_ERROR(
      loader->Begin("exercise_cache",
                    {"id", "user_id", "exercise_type", "difficulty_level",
                     "topic", "exercise_data", "created_at", "expires_at"}));
  const int64_t users =
      std::max<int64_t>(1, shape.exercise_rows / shape.exercises_per_user);
  const std::string filler(std::max(0, shape.payload_bytes - 80), 'x');
  for (int64_t i = 0; i < shape.exercise_rows; ++i) {
    const int64_t user = i % users;
    const std::string type = kExerciseTypes[gen.Below(kExerciseTypes.size())];
    const int difficulty = static_cast<int>(gen.Below(5)) + 1;
    std::optional<std::string> topic;
    if (gen.Uniform() >= 0.1) topic = absl::StrCat("topic_", gen.Below(20));
    const absl::Time created = gen.Before(now, absl::Hours(24 * 30));
    std::optional<absl::Time> expires;
    const double roll = gen.Uniform();
    // Row 0 is the known hit: unexpired, with a topic.
    if (i == 0) {
      topic = "topic_0";
      expires = now + absl::Hours(24 * 7);
      keys.user_id = SampleUuid("users", user, shape.seed);
      keys.exercise_type = type;
      keys.difficulty_level = difficulty;
      keys.topic = *topic;
    } else if (roll < shape.expired_fraction) {
      expires = gen.Before(now, absl::Hours(24 * 10));
    } else if (roll >= shape.expired_fraction + shape.never_expires_fraction) {
      expires = now + absl::Hours(1) + absl::Seconds(gen.Below(30 * 24 * 3600));
    }
    const std::string data = absl::StrCat(
        R"({"prompt":"Which bird is this?","options":[)", gen.Below(1000), ",",
        gen.Below(1000), R"(],"pad":")", filler, R"("})");
    RETURN_IF_ERROR(loader->Add(
        {CellValue::Uuid(SampleUuid("exercise_cache", i, shape.seed)),
         CellValue::Uuid(SampleUuid("users", user, shape.seed)),
         CellValue::String(type), CellValue::Int64(difficulty),
         (topic ? CellValue::String(*topic) : CellValue::Null()),
         CellValue::Json(data), CellValue::Timestamp(created),
         (expires ? CellValue::Timestamp(*expires) : CellValue::Null())}));
  }
  RETURN_IF_ERROR(loader->End());

  // images + ai_annotation_items
  const int64_t images =
      std::max<int64_t>(1, shape.annotation_rows / shape.annotations_per_image);
  RETURN_IF_ERROR(
      loader->Begin("images", {"id", "url", "species", "width", "height"}));
  for (int64_t i = 0; i < images; ++i) {
    RETURN_IF_ERROR(loader->Add(
        {CellValue::Uuid(SampleUuid("images", i, shape.seed)),
         CellValue::String(absl::StrCat("https://img.example/", i, ".jpg")),
         CellValue::String(absl::StrCat("species_", i % 300)),
         CellValue::Int64(1024), CellValue::Int64(768)}));
  }
  RETURN_IF_ERROR(loader->End());
  keys.image_id = SampleUuid("images", 0, shape.seed);

  constexpr std::array<const char*, 3> kReviewed = {"approved", "rejected",
                                                    "edited"};
  RETURN_IF_ERROR(
      loader->Begin("ai_annotation_items",
                    {"id", "image_id", "spanish_term", "english_term",
                     "bounding_box", "annotation_type", "difficulty_level",
                     "confidence", "status", "created_at"}));
  for (int64_t i = 0; i < shape.annotation_rows; ++i) {
    const char* status = gen.Uniform() < shape.pending_fraction
                             ? "pending"
                             : kReviewed[gen.Below(3)];
    const std::string box = absl::StrFormat(
        R"({"x":%d,"y":%d,"width":%d,"height":%d})", gen.Below(900),
        gen.Below(700), 20 + gen.Below(100), 20 + gen.Below(100));
    const int difficulty = static_cast<int>(gen.Below(5)) + 1;
    const double confidence = gen.Uniform();
    RETURN_IF_ERROR(loader->Add(
        {CellValue::Uuid(SampleUuid("ai_annotation_items", i, shape.seed)),
         CellValue::Uuid(SampleUuid("images", i % images, shape.seed)),
         CellValue::String(absl::StrCat("pico_", i % 500)),
         CellValue::String(absl::StrCat("beak_", i % 500)),
         CellValue::Json(box), CellValue::String("anatomical"),
         CellValue::Int64(difficulty), CellValue::Double(confidence),
         CellValue::String(status),
         CellValue::Timestamp(gen.Before(now, absl::Hours(24 * 90)))}));
  }
  RETURN_IF_ERROR(loader->End());

  // batch_jobs + batch_job_errors. The first jobs are the failed ones that
  // carry errors; the rest are mostly completed, a few active.
  const int64_t failed_jobs_with_errors =
      std::max<int64_t>(1, shape.error_rows / shape.errors_per_failed_job);
  RETURN_IF_ERROR(loader->Begin(
      "batch_jobs", {"id", "job_type", "status", "total_items",
                     "processed_items", "failed_items", "created_at"}));
  for (int64_t i = 0; i < shape.job_rows; ++i) {
    std::string status;
    const double roll = gen.Uniform();
    if (i < failed_jobs_with_errors) {
      status = "failed";
    } else if (roll < shape.active_fraction / 2) {
      status = "pending";
    } else if (roll < shape.active_fraction) {
      status = "processing";
    } else if (roll < shape.active_fraction + 0.03) {
      status = "failed";
    } else if (roll < shape.active_fraction + 0.04) {
      status = "cancelled";
    } else {
      status = "completed";
    }
    RETURN_IF_ERROR(loader->Add(
        {CellValue::Uuid(SampleUuid("batch_jobs", i, shape.seed)),
         CellValue::String(kJobTypes[i % kJobTypes.size()]),
         CellValue::String(status), CellValue::Int64(1000),
         CellValue::Int64(1000), CellValue::Int64(0),
         CellValue::Timestamp(gen.Before(now, absl::Hours(24 * 365)))}));
  }
  RETURN_IF_ERROR(loader->End());
  keys.job_type = kJobTypes[1];
  keys.job_with_errors = SampleUuid("batch_jobs", 0, shape.seed);

  RETURN_IF_ERROR(loader->Begin(
      "batch_job_errors",
      {"job_id", "item_index", "item_id", "error_message", "created_at"}));
  for (int64_t i = 0; i < shape.error_rows; ++i) {
    const int64_t job = i % failed_jobs_with_errors;
    RETURN_IF_ERROR(loader->Add(
        {CellValue::Uuid(SampleUuid("batch_jobs", job, shape.seed)),
         CellValue::Int64(i), CellValue::String(absl::StrCat("item-", i)),
         CellValue::String("violates foreign key constraint"),
         CellValue::Timestamp(gen.Before(now, absl::Hours(24 * 30)))}));
  }
  RETURN_IF_ERROR(loader->End());
  try {
    pqxx::connection connection(conninfo);
    pqxx::nontransaction(connection).exec("ANALYZE");
  } catch (...) {
    return db::StatusFromCurrentException("analyzing sample data");
  }
  return keys;
}

std::string FixtureUuid(int kind, int64_t n) {
  char id[48];  // n < 10^12 keeps it 36 characters
  std::snprintf(id, sizeof id, "%08d-0000-4000-8000-%012lld", kind,
                static_cast<long long>(n));
  return id;
}

absl::Status InsertUsersAndVocabulary(const std::string& conninfo,
                                      int64_t users, int64_t words) {
  ASSIGN_OR_RETURN(std::unique_ptr<FixtureLoader> loader,
                   FixtureLoader::Create(conninfo));
  RETURN_IF_ERROR(loader->Begin("users", {"id", "email", "name"}));
  for (int64_t i = 0; i < users; ++i) {
    RETURN_IF_ERROR(
        loader->Add({CellValue::Uuid(FixtureUuid(1, i)),
                     CellValue::String(absl::StrCat("u", i, "@x.org")),
                     CellValue::String(absl::StrCat("user ", i))}));
  }
  RETURN_IF_ERROR(loader->End());
  RETURN_IF_ERROR(
      loader->Begin("vocabulary", {"id", "spanish_term", "english_term"}));
  for (int64_t i = 0; i < words; ++i) {
    RETURN_IF_ERROR(loader->Add({CellValue::Uuid(FixtureUuid(2, i)),
                                 CellValue::String(absl::StrCat("es", i)),
                                 CellValue::String(absl::StrCat("en", i))}));
  }
  return loader->End();
}

}  // namespace aves::testing
