#include "server/db/migrator.h"

#include <chrono>
#include <map>
#include <utility>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <pqxx/nontransaction>
#include <pqxx/pqxx>

#include "server/common/status_macros.h"
#include "server/db/connection.h"
#include "server/db/database.h"
#include "server/db/errors.h"
#include "server/db/statement_name.h"
#include "server/observability/logging.h"

namespace aves::db {
namespace {

constexpr char kCreateSchemaMigrations[] =
    AVES_SQL_NAME("migrate_create_ledger") R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version     integer     PRIMARY KEY,
  name        text        NOT NULL,
  checksum    text        NOT NULL,
  applied_at  timestamptz NOT NULL DEFAULT now(),
  duration_ms bigint      NOT NULL
))sql";

constexpr char kSelectApplied[] = AVES_SQL_NAME("migrate_applied") R"sql(
SELECT version, name, checksum,
       (extract(epoch FROM applied_at) * 1000000)::bigint AS applied_at_us, duration_ms
FROM schema_migrations ORDER BY version)sql";

constexpr char kRecordApplied[] =
    AVES_SQL_NAME("migrate_record") "INSERT INTO schema_migrations (version, name, checksum, duration_ms) "
    "VALUES ($1, $2, $3, $4)";

constexpr char kFindInvalidIndex[] =
    AVES_SQL_NAME("migrate_find_invalid_index") R"sql(
SELECT 1 FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relname = $1 AND c.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid)sql";

// RAII holder of the migration advisory lock (session level: it must span
// autocommit statements of no-transaction files). Waiting is done by polling
// pg_try_advisory_lock between statements, never inside one: a session
// blocked in pg_advisory_lock holds a snapshot, and the lock holder's
// CREATE INDEX CONCURRENTLY waits for every such snapshot -- a deadlock.
class AdvisoryLock {
 public:
  explicit AdvisoryLock(pqxx::connection& connection)
      : connection_(connection) {
    auto log = observability::Logger("migrate");
    const absl::Time started = absl::Now();
    absl::Time next_report = started + absl::Seconds(10);
    while (
        !pqxx::nontransaction(connection_)
             .exec_params(AVES_SQL_NAME(
                              "migrate_lock") "SELECT pg_try_advisory_lock($1)",
                          Migrator::kAdvisoryLockKey)[0][0]
             .as<bool>()) {
      if (absl::Now() >= next_report) {
        log->info("waiting {} s for another migrator to finish",
                  absl::ToInt64Seconds(absl::Now() - started));
        next_report += absl::Seconds(30);
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  ~AdvisoryLock() {
    try {
      pqxx::nontransaction tx(connection_);
      tx.exec_params(
          AVES_SQL_NAME("migrate_unlock") "SELECT pg_advisory_unlock($1)",
          Migrator::kAdvisoryLockKey);
    } catch (...) {
      // The connection is gone; PostgreSQL released the lock with the session.
    }
  }
  AdvisoryLock(const AdvisoryLock&) = delete;
  AdvisoryLock& operator=(const AdvisoryLock&) = delete;

 private:
  pqxx::connection& connection_;
};

// Drops INVALID indexes (left by an interrupted CREATE INDEX CONCURRENTLY)
// that `file` is about to create, so its IF NOT EXISTS does not skip them.
void DropInvalidIndexesOf(pqxx::connection& connection,
                          const MigrationFile& file,
                          const std::vector<std::string>& statements) {
  for (const std::string& statement : statements) {
    std::optional<std::string> index = ConcurrentIndexName(statement);
    if (!index.has_value()) continue;
    pqxx::nontransaction tx(connection);
    if (tx.exec_params(kFindInvalidIndex, *index).empty()) continue;
    observability::Logger("migrate")->warn(
        "{}: index {} is INVALID (an interrupted concurrent build); rebuilding "
        "it",
        file.filename, *index);
    tx.exec(absl::StrCat(
        AVES_SQL_NAME(
            "migrate_drop_invalid_index") "DROP INDEX CONCURRENTLY IF EXISTS ",
        tx.quote_name(*index)));
  }
}

void ApplyFile(pqxx::connection& connection, const MigrationFile& file) {
  const auto started = std::chrono::steady_clock::now();
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now() - started)
        .count();
  };
  if (file.no_transaction) {
    const std::vector<std::string> statements = SplitSqlStatements(file.sql);
    DropInvalidIndexesOf(connection, file, statements);
    for (const std::string& statement : statements) {
      pqxx::nontransaction tx(connection);
      tx.exec(Named(absl::StrCat("migration_", file.version), statement));
    }
    pqxx::nontransaction tx(connection);
    tx.exec_params(kRecordApplied, file.version, file.name, file.checksum,
                   static_cast<int64_t>(elapsed_ms()));
  } else {
    pqxx::work tx(connection);
    tx.exec(Named(absl::StrCat("migration_", file.version), file.sql));
    tx.exec_params(kRecordApplied, file.version, file.name, file.checksum,
                   static_cast<int64_t>(elapsed_ms()));
    tx.commit();
  }
  observability::Logger("migrate")->info("applied {} in {} ms", file.filename,
                                         elapsed_ms());
}

absl::Status MismatchError(const MigrationState& state) {
  return absl::FailedPreconditionError(absl::StrCat(
      "migration ", state.file.filename,
      " was changed after it was applied (checksum ",
      state.applied->checksum.substr(0, 12), "… in the database, ",
      state.file.checksum.substr(0, 12),
      "… in this build); restore the file and add a new migration instead"));
}

}  // namespace

bool SchemaStatus::current() const {
  for (const MigrationState& state : migrations) {
    if (!state.applied.has_value() || state.checksum_mismatch()) return false;
  }
  return true;
}

const MigrationState* SchemaStatus::first_mismatch() const {
  for (const MigrationState& state : migrations) {
    if (state.checksum_mismatch()) return &state;
  }
  return nullptr;
}

absl::StatusOr<SchemaStatus> ReadSchemaStatus(
    pqxx::connection_base& connection,
    const std::vector<MigrationFile>& files) {
  try {
    pqxx::read_transaction tx(connection);
    std::map<int, AppliedMigration> applied;
    if (!tx.exec(AVES_SQL_NAME(
            "migrate_ledger_exists") "SELECT to_regclass('schema_migrations')")
             [0][0]
                 .is_null()) {
      for (const pqxx::row& row : tx.exec(kSelectApplied)) {
        AppliedMigration migration;
        migration.version = row["version"].as<int>();
        migration.name = row["name"].as<std::string>();
        migration.checksum = row["checksum"].as<std::string>();
        migration.applied_at =
            absl::FromUnixMicros(row["applied_at_us"].as<int64_t>());
        migration.duration_ms = row["duration_ms"].as<int64_t>();
        applied.emplace(migration.version, std::move(migration));
      }
    }
    SchemaStatus status;
    for (const MigrationFile& file : files) {
      MigrationState state{file, std::nullopt};
      if (auto it = applied.find(file.version); it != applied.end()) {
        state.applied = std::move(it->second);
        applied.erase(it);
      }
      status.migrations.push_back(std::move(state));
    }
    for (auto& [version, migration] : applied) {
      status.unknown_applied.push_back(std::move(migration));
    }
    return status;
  } catch (...) {
    return StatusFromCurrentException("reading schema_migrations");
  }
}

absl::StatusOr<SchemaStatus> ReadSchemaStatus(
    Database& database, const common::CallContext& context,
    const std::vector<MigrationFile>& files) {
  absl::StatusOr<SchemaStatus> status;
  RETURN_IF_ERROR(database.Run(context, Access::kRead,
                               [&](pqxx::connection_base& connection) {
                                 status = ReadSchemaStatus(connection, files);
                                 return status.status();
                               }));
  return status;
}

Migrator::Migrator(std::string conninfo, std::vector<MigrationFile> files)
    : conninfo_(std::move(conninfo)), files_(std::move(files)) {}

absl::StatusOr<SchemaStatus> Migrator::Status() const {
  ASSIGN_OR_RETURN(auto connection,
                   Connect(conninfo_, kMigratorApplicationName));
  return ReadSchemaStatus(*connection, files_);
}

absl::StatusOr<std::vector<int>> Migrator::Migrate() const {
  ASSIGN_OR_RETURN(auto connection,
                   Connect(conninfo_, kMigratorApplicationName));
  auto log = observability::Logger("migrate");
  std::string context = "preparing to migrate";
  try {
    // Index builds on big tables take long; a role-level timeout must not kill
    // them.
    pqxx::nontransaction(*connection)
        .exec(AVES_SQL_NAME("migrate_setup") "SET statement_timeout = 0");
    AdvisoryLock lock(*connection);  // waits while another migrator works
    pqxx::nontransaction(*connection).exec(kCreateSchemaMigrations);
    ASSIGN_OR_RETURN(SchemaStatus status,
                     ReadSchemaStatus(*connection, files_));
    if (const MigrationState* mismatch = status.first_mismatch())
      return MismatchError(*mismatch);
    for (const AppliedMigration& unknown : status.unknown_applied) {
      log->warn(
          "database has migration {} ({}) that this build does not know; it is "
          "newer",
          unknown.version, unknown.name);
    }
    std::vector<int> applied_now;
    for (const MigrationState& state : status.migrations) {
      if (state.applied.has_value()) continue;
      context = absl::StrCat(
          "applying ", state.file.filename,
          state.file.no_transaction
              ? " (no-transaction file: statements before the failing one "
                "stay applied; the file is re-run next time)"
              : "");
      ApplyFile(*connection, state.file);
      applied_now.push_back(state.file.version);
    }
    if (applied_now.empty())
      log->info("schema is current ({} migrations)", files_.size());
    return applied_now;
  } catch (...) {
    return StatusFromCurrentException(context, ErrorText::kFull);
  }
}

}  // namespace aves::db
