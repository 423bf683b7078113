// ExerciseCacheStore: the exercise_cache table, as plain structs. All its SQL
// is the named queries of queries.h, prepared once per pooled connection.
#ifndef AVES_SERVER_STORE_EXERCISE_CACHE_STORE_H_
#define AVES_SERVER_STORE_EXERCISE_CACHE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "server/common/call_context.h"
#include "server/db/prepared_statement.h"

namespace aves::db {
class Database;
}  // namespace aves::db

namespace aves::store {

struct ExerciseEntry {
  std::string id;
  std::string user_id;
  std::string exercise_type;
  int difficulty_level = 0;
  std::optional<std::string> topic;
  std::string exercise_data;  // JSON text
  absl::Time created_at;
  std::optional<absl::Time> expires_at;  // nullopt: never expires
};

// What GetExercise looks for.
struct ExerciseKey {
  std::string user_id;  // canonical UUID (validated by the caller)
  std::string exercise_type;
  int difficulty_level = 0;
  std::optional<std::string> topic;  // nullopt: any topic
};

struct NewExercise {
  ExerciseKey key;
  std::string exercise_data;          // JSON text
  std::optional<absl::Duration> ttl;  // nullopt: never expires
};

struct PurgeResult {
  int64_t deleted = 0;
  int batches = 0;
};

class ExerciseCacheStore {
 public:
  // Rows deleted per purge transaction: short transactions, short locks.
  static constexpr int64_t kPurgeBatchRows = 1000;
  // The largest exercise_data a read sends back: twice what PutExercise
  // accepts (jsonb may print it longer), far under a client's default 4 MiB
  // receive limit. A larger row, written by another program, fails only its
  // own read (FAILED_PRECONDITION naming it) instead of RESOURCE_EXHAUSTED
  // at the client for every batch it is in.
  static constexpr size_t kMaxServedDataBytes = 2 << 20;

  explicit ExerciseCacheStore(db::Database& database) : database_(database) {}

  // The statements this store prepares on every pooled connection.
  static std::vector<db::PreparedStatement> PreparedStatements();

  // The newest unexpired entry for `key`; NOT_FOUND on a miss;
  // FAILED_PRECONDITION naming the row when it holds a time the API cannot
  // represent.
  absl::StatusOr<ExerciseEntry> Lookup(const common::CallContext& context,
                                       const ExerciseKey& key);

  // One key's answer in a batch: the entry, nullopt for a miss, or the
  // error of a row the API cannot represent (that key's alone).
  using LookupResult = absl::StatusOr<std::optional<ExerciseEntry>>;

  // Lookup for many keys in one round trip (kLookupExercisesBatch): one
  // result per key, in order. The outer status fails only for the statement
  // itself.
  absl::StatusOr<std::vector<LookupResult>> LookupMany(
      const common::CallContext& context, const std::vector<ExerciseKey>& keys);

  // Stores an entry; INVALID_ARGUMENT naming exercise_data when it is not JSON.
  absl::StatusOr<ExerciseEntry> Put(const common::CallContext& context,
                                    const NewExercise& entry);

  // Deletes up to `max_rows` expired entries (0: all), oldest expiry first,
  // kPurgeBatchRows per transaction.
  absl::StatusOr<PurgeResult> PurgeExpired(const common::CallContext& context,
                                           int64_t max_rows);

 private:
  db::Database& database_;
};

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_EXERCISE_CACHE_STORE_H_
