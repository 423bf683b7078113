#include "server/store/exercise_cache_store.h"

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/common/status_macros.h"
#include "server/db/array_literal.h"
#include "server/db/database.h"
#include "server/db/timed_exec.h"
#include "server/store/queries.h"
#include "server/store/store_errors.h"
#include "server/store/timestamps.h"

namespace aves::store {
namespace {

constexpr char kTable[] = "exercise_cache";

std::optional<std::string> OptionalText(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

// Reads AVES_EXERCISE_COLUMNS starting at column `first`.
absl::StatusOr<ExerciseEntry> EntryFromRow(const pqxx::row& row,
                                           int first = 0) {
  ExerciseEntry entry;
  entry.id = row[first].as<std::string>();
  entry.user_id = row[first + 1].as<std::string>();
  entry.exercise_type = row[first + 2].as<std::string>();
  entry.difficulty_level = row[first + 3].as<int>();
  entry.topic = OptionalText(row[first + 4]);
  const pqxx::field data = row[first + 5];
  if (data.size() > ExerciseCacheStore::kMaxServedDataBytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        kTable, " row ", entry.id, ": exercise_data is ", data.size(),
        " bytes, more than the ", ExerciseCacheStore::kMaxServedDataBytes,
        " a read sends back; fix the row"));
  }
  entry.exercise_data = data.as<std::string>();
  ASSIGN_OR_RETURN(entry.created_at, ApiTime(row[first + 6].as<int64_t>(),
                                             kTable, entry.id, "created_at"));
  if (!row[first + 7].is_null()) {
    ASSIGN_OR_RETURN(entry.expires_at, ApiTime(row[first + 7].as<int64_t>(),
                                               kTable, entry.id, "expires_at"));
  }
  return entry;
}

}  // namespace

std::vector<db::PreparedStatement> ExerciseCacheStore::PreparedStatements() {
  std::vector<db::PreparedStatement> statements;
  for (const NamedQuery* query :
       {&kLookupExercise, &kLookupExerciseWithTopic, &kLookupExercisesBatch,
        &kPurgeExpiredExercises, &kInsertExercise}) {
    statements.push_back({query->name, query->sql});
  }
  return statements;
}

absl::StatusOr<ExerciseEntry> ExerciseCacheStore::Lookup(
    const common::CallContext& context, const ExerciseKey& key) {
  std::optional<absl::StatusOr<ExerciseEntry>> found;
  absl::Status status = database_.Run(
      context, db::Access::kRead, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);
        pqxx::result rows =
            key.topic.has_value()
                ? db::ExecPrepared(database_.query_metrics(), tx,
                                   kLookupExerciseWithTopic.name, key.user_id,
                                   key.exercise_type, key.difficulty_level,
                                   *key.topic)
                : db::ExecPrepared(database_.query_metrics(), tx,
                                   kLookupExercise.name, key.user_id,
                                   key.exercise_type, key.difficulty_level);
        found.reset();
        if (!rows.empty()) found = EntryFromRow(rows[0]);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (!found.has_value()) {
    return absl::NotFoundError(
        "no unexpired exercise for this user, type, difficulty and topic");
  }
  return *std::move(found);
}

absl::StatusOr<std::vector<ExerciseCacheStore::LookupResult>>
ExerciseCacheStore::LookupMany(const common::CallContext& context,
                               const std::vector<ExerciseKey>& keys) {
  std::vector<std::optional<std::string>> users, types, levels, topics;
  for (const ExerciseKey& key : keys) {
    users.push_back(key.user_id);
    types.push_back(key.exercise_type);
    levels.push_back(std::to_string(key.difficulty_level));
    topics.push_back(key.topic);
  }
  const std::string users_param = db::ArrayLiteral(users);
  const std::string types_param = db::ArrayLiteral(types);
  const std::string levels_param = db::ArrayLiteral(levels);
  const std::string topics_param = db::ArrayLiteral(topics);
  std::vector<LookupResult> found;
  absl::Status status = database_.Run(
      context, db::Access::kRead, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);
        pqxx::result rows = db::ExecPrepared(
            database_.query_metrics(), tx, kLookupExercisesBatch.name,
            users_param, types_param, levels_param, topics_param);
        found.assign(keys.size(), std::optional<ExerciseEntry>());
        for (const pqxx::row& row : rows) {
          const size_t position = row[0].as<size_t>();
          if (position < 1 || position > keys.size()) continue;
          absl::StatusOr<ExerciseEntry> entry = EntryFromRow(row, 1);
          if (entry.ok()) {
            found[position - 1] = std::optional(*std::move(entry));
          } else {
            found[position - 1] = entry.status();
          }
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return found;
}

absl::StatusOr<ExerciseEntry> ExerciseCacheStore::Put(
    const common::CallContext& context, const NewExercise& entry) {
  std::optional<int64_t> ttl_micros;
  if (entry.ttl.has_value()) ttl_micros = absl::ToInt64Microseconds(*entry.ttl);
  absl::StatusOr<ExerciseEntry> stored = absl::UnknownError("not run");
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);  // one statement: autocommit
        stored = EntryFromRow(db::ExecPrepared(
            database_.query_metrics(), tx, kInsertExercise.name,
            entry.key.user_id, entry.key.exercise_type,
            entry.key.difficulty_level, entry.key.topic, entry.exercise_data,
            ttl_micros)[0]);
        return absl::OkStatus();
      });
  if (!status.ok()) return NameInvalidJson(status, "exercise_data");
  return stored;
}

absl::StatusOr<PurgeResult> ExerciseCacheStore::PurgeExpired(
    const common::CallContext& context, int64_t max_rows) {
  PurgeResult result;
  while (max_rows == 0 || result.deleted < max_rows) {
    const int64_t batch =
        max_rows == 0 ? kPurgeBatchRows
                      : std::min(kPurgeBatchRows, max_rows - result.deleted);
    int64_t deleted = 0;
    absl::Status status = database_.Run(
        context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
          pqxx::nontransaction tx(connection);  // each batch commits on its own
          deleted = db::ExecPrepared(database_.query_metrics(), tx,
                                     kPurgeExpiredExercises.name, batch)
                        .affected_rows();
          return absl::OkStatus();
        });
    if (!status.ok()) return status;
    ++result.batches;
    result.deleted += deleted;
    if (deleted < batch) break;
  }
  return result;
}

}  // namespace aves::store
