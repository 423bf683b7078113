#include "tests/support/test_database.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/common/crypto.h"
#include "server/common/status_macros.h"
#include "server/db/connection.h"
#include "server/db/errors.h"
#include "server/db/migration_file.h"
#include "server/db/migrator.h"

namespace aves::testing {
namespace {

constexpr char kApplicationName[] = "aves-tests";
constexpr int64_t kTemplateLockKey = 0x4176657354706c;  // "AvesTpl"

std::string TemplateName(const std::vector<db::MigrationFile>& migrations) {
  std::string checksums;
  for (const db::MigrationFile& file : migrations) checksums += file.checksum;
  return "aves_template_" + common::Sha256Hex(checksums).substr(0, 16);
}

std::string UniqueName(absl::string_view label) {
  static std::atomic<int> counter{0};
  std::string clean;
  for (char c : label) {
    if (clean.size() >= 30) break;
    clean.push_back(
        std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '_');
  }
  return absl::StrCat("aves_test_", clean, "_", getpid(), "_", counter++);
}

// Creates the migrated template unless it exists. Serialised across processes
// by an advisory lock; built under a temporary name and renamed, so a failed
// build never leaves a half-migrated template behind.
absl::Status EnsureTemplate(const std::string& cluster,
                            const std::string& template_name,
                            const std::vector<db::MigrationFile>& migrations) {
  ASSIGN_OR_RETURN(auto admin, db::Connect(cluster, kApplicationName));
  try {
    pqxx::nontransaction tx(*admin);
    tx.exec_params("SELECT pg_advisory_lock($1)", kTemplateLockKey);
    if (tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1",
                       template_name)
            .empty()) {
      const std::string building = template_name + "_building";
      tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", tx.quote_name(building),
                           " WITH (FORCE)"));
      tx.exec(absl::StrCat("CREATE DATABASE ", tx.quote_name(building)));
      absl::StatusOr<std::vector<int>> applied =
          db::Migrator(db::WithDatabase(cluster, building), migrations)
              .Migrate();
      if (!applied.ok()) return applied.status();
      tx.exec(absl::StrCat("ALTER DATABASE ", tx.quote_name(building),
                           " RENAME TO ", tx.quote_name(template_name)));
      tx.exec(absl::StrCat("ALTER DATABASE ", tx.quote_name(template_name),
                           " IS_TEMPLATE true"));
      // Templates of older migration sets are garbage now.
      for (const pqxx::row& row :
           tx.exec_params("SELECT datname FROM pg_database WHERE datname LIKE "
                          "'aves\\_template\\_%' "
                          "AND datname <> $1",
                          template_name)) {
        const std::string stale = row[0].as<std::string>();
        tx.exec(absl::StrCat("ALTER DATABASE ", tx.quote_name(stale),
                             " IS_TEMPLATE false"));
        tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", tx.quote_name(stale),
                             " WITH (FORCE)"));
      }
    }
    tx.exec_params("SELECT pg_advisory_unlock($1)", kTemplateLockKey);
    return absl::OkStatus();
  } catch (...) {
    return db::StatusFromCurrentException(
        "creating the test template database");
  }
}

}  // namespace

absl::StatusOr<std::string> ClusterConninfo() {
  const char* url = std::getenv("DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    return absl::FailedPreconditionError(
        "DATABASE_URL is not set: run the tests through scripts/test, which "
        "starts PostgreSQL");
  }
  return std::string(url);
}

TestDatabase::TestDatabase(std::string cluster_conninfo, std::string name)
    : cluster_conninfo_(std::move(cluster_conninfo)),
      name_(std::move(name)),
      conninfo_(db::WithDatabase(cluster_conninfo_, name_)) {}

TestDatabase::~TestDatabase() {
  auto admin = db::Connect(cluster_conninfo_, kApplicationName);
  if (!admin.ok()) return;
  try {
    pqxx::nontransaction tx(**admin);
    tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", tx.quote_name(name_),
                         " WITH (FORCE)"));
  } catch (...) {
    // Best effort: scripts/test sweeps leftover aves_test_* databases.
  }
}

std::unique_ptr<pqxx::connection> TestDatabase::Connect() const {
  return std::make_unique<pqxx::connection>(
      db::WithApplicationName(conninfo_, kApplicationName));
}

int64_t TestDatabase::StatementCalls(
    const std::vector<std::string>& names) const {
  // One parameter, the names a line each (no name holds a newline).
  std::string lines;
  for (const std::string& name : names) lines += name + "\n";
  pqxx::connection connection(
      db::WithApplicationName(conninfo_, kApplicationName));
  pqxx::nontransaction tx(connection);
  return tx
      .exec_params1(
          "SELECT coalesce(sum(calls), 0)::int8 FROM pg_stat_statements "
          "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = "
          "current_database()) AND query LIKE ANY (SELECT '/* aves:' || "
          "name || ' */%' FROM unnest(string_to_array(rtrim($1, E'\\n'), "
          "E'\\n')) AS name)",
          lines)[0]
      .as<int64_t>();
}

absl::StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::Create(
    absl::string_view label, const std::string* template_name) {
  ASSIGN_OR_RETURN(std::string cluster, ClusterConninfo());
  const std::string name = UniqueName(label);
  ASSIGN_OR_RETURN(auto admin, db::Connect(cluster, kApplicationName));
  try {
    pqxx::nontransaction tx(*admin);
    tx.exec(absl::StrCat("CREATE DATABASE ", tx.quote_name(name),
                         template_name != nullptr
                             ? " TEMPLATE " + tx.quote_name(*template_name)
                             : ""));
  } catch (...) {
    return db::StatusFromCurrentException("creating a test database");
  }
  return std::unique_ptr<TestDatabase>(new TestDatabase(cluster, name));
}

absl::StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::CreateMigrated(
    absl::string_view label) {
  ASSIGN_OR_RETURN(std::string cluster, ClusterConninfo());
  ASSIGN_OR_RETURN(std::vector<db::MigrationFile> migrations,
                   db::BuiltInMigrations());
  const std::string template_name = TemplateName(migrations);
  RETURN_IF_ERROR(EnsureTemplate(cluster, template_name, migrations));
  return Create(label, &template_name);
}

absl::StatusOr<std::unique_ptr<TestDatabase>> TestDatabase::CreateEmpty(
    absl::string_view label) {
  return Create(label, nullptr);
}

}  // namespace aves::testing
