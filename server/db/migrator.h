// The schema migrator: applies migrations/NNN_*.sql in order and records each
// in schema_migrations (version, name, checksum, applied_at, duration_ms).
//  - Each file runs in its own transaction, unless it carries the
//    no-transaction marker; then its statements run one by one in autocommit
//    (CREATE INDEX CONCURRENTLY needs that) and the file must be idempotent.
//  - A session-level advisory lock serialises concurrent migrators, so two
//    avesd starting at once apply each file exactly once.
//  - An applied file whose checksum changed stops migration with an error
//    naming the file: history is never silently rewritten.
//  - An INVALID index left by an interrupted CONCURRENTLY build of a pending
//    file is dropped and rebuilt.
#ifndef AVES_SERVER_DB_MIGRATOR_H_
#define AVES_SERVER_DB_MIGRATOR_H_

#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "server/common/call_context.h"
#include "server/db/migration_file.h"
#include "server/db/pqxx_fwd.h"

namespace aves::db {

// A row of schema_migrations.
struct AppliedMigration {
  int version = 0;
  std::string name;
  std::string checksum;
  absl::Time applied_at;
  int64_t duration_ms = 0;
};

// One known file and what the database says of it.
struct MigrationState {
  MigrationFile file;
  std::optional<AppliedMigration> applied;
  bool checksum_mismatch() const {
    return applied.has_value() && applied->checksum != file.checksum;
  }
};

struct SchemaStatus {
  std::vector<MigrationState> migrations;  // in version order
  std::vector<AppliedMigration>
      unknown_applied;  // applied, but not in this build (newer)
  // Every known file applied with its checksum unchanged.
  bool current() const;
  // The first applied file whose checksum changed, if any.
  const MigrationState* first_mismatch() const;
};

class Database;

// Reads the schema state over an open connection (no locks taken).
absl::StatusOr<SchemaStatus> ReadSchemaStatus(
    pqxx::connection_base& connection, const std::vector<MigrationFile>& files);

// The same through the pool (a read: retried once on a lost connection).
absl::StatusOr<SchemaStatus> ReadSchemaStatus(
    Database& database, const common::CallContext& context,
    const std::vector<MigrationFile>& files);

class Migrator {
 public:
  // The advisory-lock key (pg_advisory_lock) that serialises migrators.
  static constexpr int64_t kAdvisoryLockKey = 0x4176657344617461;  // "AvesData"

  Migrator(std::string conninfo, std::vector<MigrationFile> files);

  // The state of every known file.
  absl::StatusOr<SchemaStatus> Status() const;

  // Applies every pending file in order; returns the versions this call
  // applied (empty when the schema was current).
  absl::StatusOr<std::vector<int>> Migrate() const;

 private:
  std::string conninfo_;
  std::vector<MigrationFile> files_;
};

}  // namespace aves::db

#endif  // AVES_SERVER_DB_MIGRATOR_H_
