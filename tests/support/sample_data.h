// Deterministic sample data for index proofs and benchmarks, loaded through
// the bulk-load path (FixtureLoader).
// Every id is a pure function of (table, row index, seed), so a test can name
// a row that exists without reading it back.
#ifndef AVES_TESTS_SUPPORT_SAMPLE_DATA_H_
#define AVES_TESTS_SUPPORT_SAMPLE_DATA_H_

#include <cstdint>
#include <string>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>

namespace aves::testing {

// The shape of the data set; defaults suit integration tests (fast to load).
struct SampleDataShape {
  int64_t exercise_rows = 100'000;
  int64_t exercises_per_user = 10;
  double expired_fraction = 0.01;       // of exercise_cache rows
  double never_expires_fraction = 0.1;  // NULL expires_at
  int payload_bytes = 120;              // size of exercise_data

  int64_t annotation_rows = 100'000;
  int64_t annotations_per_image = 20;
  double pending_fraction = 0.02;  // review queue share

  int64_t job_rows = 100'000;
  double active_fraction = 0.01;  // pending + processing share
  int64_t error_rows = 100'000;
  int64_t errors_per_failed_job = 100;

  uint64_t seed = 42;
};

// Keys of rows that exist, for the queries under test.
struct SampleKeys {
  std::string user_id;  // has an unexpired entry for:
  std::string exercise_type;
  int difficulty_level = 0;
  std::string topic;            // the entry's topic
  std::string image_id;         // has annotations_per_image annotations
  std::string job_type;         // has jobs in every status
  std::string job_with_errors;  // has errors_per_failed_job errors
};

// The i-th id of `table` (a UUID string) for the given seed.
std::string SampleUuid(absl::string_view table, int64_t index, uint64_t seed);

// Loads every table of the shape through FixtureLoader, then ANALYZEs. The
// database must be migrated and empty.
absl::StatusOr<SampleKeys> LoadSampleData(const std::string& conninfo,
                                          const SampleDataShape& shape);

// Readable fixture ids: "0000000K-0000-4000-8000-00000000000N" for kind K
// (1: users, 2: vocabulary) and number N.
std::string FixtureUuid(int kind, int64_t n);

// Users 0..users-1 (FixtureUuid(1, i)) and vocabulary 0..words-1
// (FixtureUuid(2, i)): what user_progress rows of bulk-load tests and
// benchmarks point at.
absl::Status InsertUsersAndVocabulary(const std::string& conninfo,
                                      int64_t users, int64_t words);

}  // namespace aves::testing

#endif  // AVES_TESTS_SUPPORT_SAMPLE_DATA_H_
