// Hermetic databases for tests and benchmarks. The first caller of a run
// migrates a template database (named after the migrations' checksums, so it
// is rebuilt only when a migration changes); every suite then gets its own
// CREATE DATABASE ... TEMPLATE copy, dropped when the object dies.
#ifndef AVES_TESTS_SUPPORT_TEST_DATABASE_H_
#define AVES_TESTS_SUPPORT_TEST_DATABASE_H_

#include <memory>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <pqxx/connection>

namespace aves::testing {

// DATABASE_URL of the cluster scripts/test started; FAILED_PRECONDITION when
// unset.
absl::StatusOr<std::string> ClusterConninfo();

class TestDatabase {
 public:
  // A fresh copy of the migrated template. `label` names the database.
  static absl::StatusOr<std::unique_ptr<TestDatabase>> CreateMigrated(
      absl::string_view label);
  // A fresh, empty database (no schema): for migrator tests.
  static absl::StatusOr<std::unique_ptr<TestDatabase>> CreateEmpty(
      absl::string_view label);
  ~TestDatabase();  // drops the database, disconnecting any session left

  const std::string& name() const { return name_; }
  // Connection string of this database.
  const std::string& conninfo() const { return conninfo_; }
  // A new connection to it (application_name "aves-tests").
  std::unique_ptr<pqxx::connection> Connect() const;
  // How many times pg_stat_statements saw this database run the statements
  // named `/* aves:NAME */` for these names (db/statement_name.h).
  int64_t StatementCalls(const std::vector<std::string>& names) const;

 private:
  // A new database, copied from `template_name` unless it is null.
  static absl::StatusOr<std::unique_ptr<TestDatabase>> Create(
      absl::string_view label, const std::string* template_name);
  TestDatabase(std::string cluster_conninfo, std::string name);
  std::string cluster_conninfo_;
  std::string name_;
  std::string conninfo_;
};

}  // namespace aves::testing

#endif  // AVES_TESTS_SUPPORT_TEST_DATABASE_H_
