// The migrator against a real PostgreSQL: each test gets its own database.
#include <algorithm>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "server/common/crypto.h"
#include "server/db/migrator.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace aves::db {
namespace {

using ::aves::testing::StatusIs;
using ::aves::testing::TestDatabase;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr const char* kSeedIndexes[] = {
    "idx_exercise_cache_lookup", "idx_exercise_cache_expires",
    "idx_ai_annotations_image",  "idx_ai_annotations_status",
    "idx_batch_jobs_status",     "idx_batch_jobs_type",
    "idx_batch_job_errors_job"};

class MigratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = TestDatabase::CreateEmpty("migrator");
    ASSERT_OK(database);
    database_ = *std::move(database);
    auto files = BuiltInMigrations();
    ASSERT_OK(files);
    files_ = *std::move(files);
  }

  int64_t Count(const std::string& sql) {
    auto connection = database_->Connect();
    pqxx::read_transaction tx(*connection);
    return tx.exec(sql)[0][0].as<int64_t>();
  }

  // Valid seed indexes present in the database.
  std::set<std::string> ValidSeedIndexes() {
    auto connection = database_->Connect();
    pqxx::read_transaction tx(*connection);
    std::set<std::string> names;
    for (const pqxx::row& row : tx.exec("SELECT c.relname FROM pg_index i JOIN "
                                        "pg_class c ON c.oid = i.indexrelid "
                                        "WHERE c.relname LIKE 'idx\\_%' AND "
                                        "i.indisvalid AND i.indisready")) {
      names.insert(row[0].as<std::string>());
    }
    return names;
  }

  std::unique_ptr<TestDatabase> database_;
  std::vector<MigrationFile> files_;
};

TEST_F(MigratorTest, AppliesEveryFileToAnEmptyDatabaseThenIsANoOp) {
  Migrator migrator(database_->conninfo(), files_);
  absl::StatusOr<std::vector<int>> first = migrator.Migrate();
  ASSERT_OK(first);
  EXPECT_THAT(*first, ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                  15, 16, 17, 18, 19, 20, 21));
  EXPECT_EQ(Count("SELECT count(*) FROM information_schema.tables WHERE "
                  "table_schema = 'public' "
                  "AND table_name IN ('users', 'vocabulary', 'user_progress', "
                  "'images', "
                  "'exercise_cache', 'ai_annotation_items', 'batch_jobs', "
                  "'batch_job_errors')"),
            8);
  EXPECT_EQ(ValidSeedIndexes(), std::set<std::string>(std::begin(kSeedIndexes),
                                                      std::end(kSeedIndexes)));

  absl::StatusOr<std::vector<int>> second = migrator.Migrate();
  ASSERT_OK(second);
  EXPECT_THAT(*second, IsEmpty());
  EXPECT_EQ(Count("SELECT count(*) FROM schema_migrations"), 21);

  absl::StatusOr<SchemaStatus> status = migrator.Status();
  ASSERT_OK(status);
  EXPECT_TRUE(status->current());
}

TEST_F(MigratorTest, RecordsNameChecksumAndDuration) {
  ASSERT_OK(Migrator(database_->conninfo(), files_).Migrate());
  auto connection = database_->Connect();
  pqxx::read_transaction tx(*connection);
  pqxx::result rows = tx.exec(
      "SELECT version, name, checksum, duration_ms, applied_at <= now() FROM "
      "schema_migrations "
      "ORDER BY version");
  ASSERT_EQ(rows.size(), files_.size());
  for (size_t i = 0; i < files_.size(); ++i) {
    EXPECT_EQ(rows[i][0].as<int>(), files_[i].version);
    EXPECT_EQ(rows[i][1].as<std::string>(), files_[i].name);
    EXPECT_EQ(rows[i][2].as<std::string>(), files_[i].checksum);
    EXPECT_GE(rows[i][3].as<int64_t>(), 0);
    EXPECT_TRUE(rows[i][4].as<bool>());
  }
}

TEST_F(MigratorTest, StatusListsPendingBeforeAndAppliedAfter) {
  std::vector<MigrationFile> first_three(files_.begin(), files_.begin() + 3);
  ASSERT_OK(Migrator(database_->conninfo(), first_three).Migrate());
  absl::StatusOr<SchemaStatus> status =
      Migrator(database_->conninfo(), files_).Status();
  ASSERT_OK(status);
  ASSERT_EQ(status->migrations.size(), files_.size());
  for (const MigrationState& state : status->migrations) {
    EXPECT_EQ(state.applied.has_value(), state.file.version <= 3)
        << state.file.filename;
  }
  EXPECT_FALSE(status->current());
}

TEST_F(MigratorTest, RefusesAChangedAppliedFileNamingIt) {
  ASSERT_OK(Migrator(database_->conninfo(), files_).Migrate());
  std::vector<MigrationFile> changed = files_;
  changed[2].sql += "\n-- an innocent-looking edit\n";
  changed[2].checksum = common::Sha256Hex(changed[2].sql);
  absl::StatusOr<MigrationFile> extra = ParseMigrationFile(
      "999_added_later.sql", "CREATE TABLE added_later (id int);");
  ASSERT_OK(extra);
  changed.push_back(*extra);

  EXPECT_THAT(Migrator(database_->conninfo(), changed).Migrate(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("003_create_user_progress.sql was changed")));
  // Nothing after the refusal ran.
  EXPECT_EQ(Count("SELECT count(*) FROM schema_migrations"), 21);
  EXPECT_EQ(Count("SELECT count(*) FROM information_schema.tables WHERE "
                  "table_name = 'added_later'"),
            0);
  absl::StatusOr<SchemaStatus> status =
      Migrator(database_->conninfo(), changed).Status();
  ASSERT_OK(status);
  ASSERT_NE(status->first_mismatch(), nullptr);
  EXPECT_EQ(status->first_mismatch()->file.version, 3);
}

TEST_F(MigratorTest, AFailingFileLeavesNothingBehindAndNamesItself) {
  std::vector<MigrationFile> files = files_;
  absl::StatusOr<MigrationFile> broken = ParseMigrationFile(
      "999_broken.sql", "CREATE TABLE half_done (id int);\nSELECT 1 / 0;");
  ASSERT_OK(broken);
  files.push_back(*broken);
  EXPECT_THAT(Migrator(database_->conninfo(), files).Migrate(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("999_broken.sql")));
  EXPECT_EQ(Count("SELECT count(*) FROM information_schema.tables WHERE "
                  "table_name = 'half_done'"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM schema_migrations"), 21);
}

TEST_F(MigratorTest, ConcurrentMigratorsApplyEachFileExactlyOnce) {
  constexpr int kMigrators = 4;
  std::vector<absl::StatusOr<std::vector<int>>> results(kMigrators);
  std::vector<std::thread> threads;
  for (int i = 0; i < kMigrators; ++i) {
    threads.emplace_back([&, i] {
      results[i] = Migrator(database_->conninfo(), files_).Migrate();
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::multiset<int> applied;
  for (const auto& result : results) {
    ASSERT_OK(result);
    applied.insert(result->begin(), result->end());
  }
  EXPECT_EQ(applied,
            (std::multiset<int>{1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                12, 13, 14, 15, 16, 17, 18, 19, 20, 21}));
  EXPECT_EQ(Count("SELECT count(*) FROM schema_migrations"), 21);
}

TEST_F(MigratorTest, RepairsAnIndexLeftInvalidByAnInterruptedConcurrentBuild) {
  std::vector<MigrationFile> tables_only(files_.begin(), files_.begin() + 8);
  ASSERT_OK(Migrator(database_->conninfo(), tables_only).Migrate());

  // A writer holds a lock the build must wait for; the build's own timeout
  // then interrupts it after the index entry was committed, leaving it INVALID.
  auto writer = database_->Connect();
  pqxx::work writer_tx(*writer);
  writer_tx.exec("LOCK TABLE exercise_cache IN ROW EXCLUSIVE MODE");
  {
    auto builder = database_->Connect();
    pqxx::nontransaction tx(*builder);
    tx.exec("SET statement_timeout = '300ms'");
    EXPECT_THROW(
        tx.exec(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_exercise_cache_lookup "
            "ON exercise_cache(user_id, exercise_type, difficulty_level, "
            "topic, "
            "expires_at)"),
        pqxx::sql_error);
  }
  writer_tx.abort();
  ASSERT_EQ(
      Count(
          "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = "
          "i.indexrelid "
          "WHERE c.relname = 'idx_exercise_cache_lookup' AND NOT i.indisvalid"),
      1);

  absl::StatusOr<std::vector<int>> applied =
      Migrator(database_->conninfo(), files_).Migrate();
  ASSERT_OK(applied);
  EXPECT_THAT(*applied,
              ElementsAre(9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21));
  EXPECT_EQ(ValidSeedIndexes(), std::set<std::string>(std::begin(kSeedIndexes),
                                                      std::end(kSeedIndexes)));
  EXPECT_EQ(Count("SELECT count(*) FROM pg_index WHERE NOT indisvalid"), 0);
}

TEST_F(MigratorTest, UsesTheMigratorApplicationName) {
  // A migrator waiting for the advisory lock is visible in pg_stat_activity.
  auto holder = database_->Connect();
  pqxx::nontransaction(*holder).exec_params("SELECT pg_advisory_lock($1)",
                                            Migrator::kAdvisoryLockKey);
  absl::StatusOr<std::vector<int>> result;
  std::thread migrating(
      [&] { result = Migrator(database_->conninfo(), files_).Migrate(); });
  int64_t waiting = 0;
  for (int i = 0; i < 500 && waiting == 0; ++i) {
    waiting = Count(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
        "'avesd-migrate' "
        "AND datname = current_database()");
    if (waiting == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(waiting, 1);
  // While it waits, nothing was applied.
  EXPECT_EQ(Count("SELECT count(*) FROM information_schema.tables WHERE "
                  "table_name = 'users'"),
            0);
  pqxx::nontransaction(*holder).exec_params("SELECT pg_advisory_unlock($1)",
                                            Migrator::kAdvisoryLockKey);
  migrating.join();
  ASSERT_OK(result);
  EXPECT_EQ(result->size(), files_.size());
}

}  // namespace
}  // namespace aves::db
