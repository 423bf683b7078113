// Migration files: parsing "NNN_name.sql", checksums, the no-transaction
// marker, and splitting a file into statements for files that must run
// outside a transaction (CREATE INDEX CONCURRENTLY). Pure logic, no database.
#ifndef AVES_SERVER_DB_MIGRATION_FILE_H_
#define AVES_SERVER_DB_MIGRATION_FILE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>

namespace aves::db {

// A line reading exactly this, in the file's leading comments, makes the
// migrator run the file statement by statement in autocommit mode.
inline constexpr char kNoTransactionMarker[] = "-- aves:no-transaction";

struct MigrationFile {
  int version = 0;       // 9 for 009_optimize_cache_indexes.sql
  std::string name;      // "optimize_cache_indexes"
  std::string filename;  // "009_optimize_cache_indexes.sql"
  std::string sql;
  std::string checksum;  // hex SHA-256 of sql
  bool no_transaction = false;
};

// Parses one file; INVALID_ARGUMENT naming the file when its name is not
// NNN_lowercase_name.sql or it is empty.
absl::StatusOr<MigrationFile> ParseMigrationFile(absl::string_view filename,
                                                 absl::string_view contents);

// Parses a set of (filename, contents) and orders it by version; versions must
// be unique.
absl::StatusOr<std::vector<MigrationFile>> ParseMigrationSet(
    const std::vector<std::pair<std::string, std::string>>& files);

// The migrations compiled into this binary.
absl::StatusOr<std::vector<MigrationFile>> BuiltInMigrations();

// Splits SQL text into statements at top-level semicolons, honouring quoted
// strings, quoted identifiers, dollar quoting and comments (/* */ nest, as
// PostgreSQL's do). Statements that are only comments or blank are dropped;
// a /* comment left open is kept, for PostgreSQL to refuse.
std::vector<std::string> SplitSqlStatements(absl::string_view sql);

// For "CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ...", the
// index name (lower-cased unless quoted); nullopt for any other statement.
std::optional<std::string> ConcurrentIndexName(absl::string_view statement);

}  // namespace aves::db

#endif  // AVES_SERVER_DB_MIGRATION_FILE_H_
