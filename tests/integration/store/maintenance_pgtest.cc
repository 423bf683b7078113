// Scheduled ANALYZE (store/maintenance_store.h) on a real PostgreSQL, as the
// least-privileged serving role avesd runs as: the threshold picks exactly
// the tables driven past it, a scheduled run covers every table once across
// replicas, a table held locked costs its own item only, and only avesd
// moves a run's job.
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <absl/time/clock.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "server/db/database.h"
#include "server/store/job_store.h"
#include "server/store/maintenance_store.h"
#include "tests/support/avesd_process.h"
#include "tests/support/serving_role.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"

namespace aves {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

class MaintenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> cluster = testing::ClusterConninfo();
    ASSERT_OK(cluster);
    role_ = std::make_unique<testing::ServingRole>(*cluster);
    auto database = testing::TestDatabase::CreateMigrated("maintenance");
    ASSERT_OK(database);
    test_database_ = *std::move(database);
    sql_ = test_database_->Connect();
    // Autovacuum would analyze the test's tables behind its back.
    for (const char* table :
         {"users", "vocabulary", "user_progress", "images", "exercise_cache",
          "batch_jobs", "ai_annotation_items", "batch_job_errors", "bulk_loads",
          "bulk_returned_rows"}) {
      Exec(std::string("ALTER TABLE ") + table +
           " SET (autovacuum_enabled = false)");
    }
    database_ = Serving();
    store_ = std::make_unique<store::MaintenanceStore>(*database_);
  }

  // A pool as avesd's: the serving role, which owns no table.
  std::unique_ptr<db::Database> Serving() {
    db::PoolOptions options;
    options.min_connections = 1;
    auto database = std::make_unique<db::Database>(
        role_->UrlFor(test_database_->conninfo()), options,
        store::JobStore::PreparedStatements());
    database->Start();
    EXPECT_TRUE(database->pool().WaitUntilReady(absl::Seconds(30)));
    return database;
  }

  void Exec(const std::string& sql) { pqxx::nontransaction(*sql_).exec(sql); }
  int64_t Number(const std::string& sql) {
    return pqxx::nontransaction(*sql_).exec1(sql)[0].as<int64_t>();
  }
  // Statistics reach pg_stat_user_tables up to a second after a commit.
  void WaitForModifiedRows(const std::string& table, int64_t at_least) {
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (Number("SELECT n_mod_since_analyze FROM pg_stat_user_tables "
                  "WHERE relname = '" +
                  table + "'") < at_least) {
      ASSERT_LT(absl::Now(), give_up) << table << "'s counters never moved";
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  static store::AnalyzePolicy ThresholdOnly() {
    store::AnalyzePolicy policy;
    policy.schedule = absl::ZeroDuration();
    return policy;
  }

  std::unique_ptr<testing::ServingRole> role_;
  std::unique_ptr<testing::TestDatabase> test_database_;
  std::unique_ptr<pqxx::connection> sql_;
  std::unique_ptr<db::Database> database_;
  std::unique_ptr<store::MaintenanceStore> store_;
  common::CallContext context_;
};

TEST_F(MaintenanceTest, TheThresholdPicksExactlyTheTablesDrivenPastIt) {
  Exec("ANALYZE");
  // 200 rows into an empty table pass 50 + 5%; 10 do not.
  Exec(
      "INSERT INTO vocabulary (spanish_term, english_term) SELECT 'a' || i, "
      "'b' || i FROM generate_series(1, 200) i");
  Exec(
      "INSERT INTO images (url) SELECT 'u' || i FROM generate_series(1, 10) "
      "i");
  WaitForModifiedRows("vocabulary", 200);
  WaitForModifiedRows("images", 10);

  auto due = store_->DueTables(context_, ThresholdOnly());
  ASSERT_OK(due);
  ASSERT_THAT(*due, SizeIs(1));
  EXPECT_EQ(due->front().table, "vocabulary");
  EXPECT_EQ(due->front().reason, "threshold");
  EXPECT_EQ(due->front().modified_since_analyze, 200);

  auto run = store_->RunDue(context_, ThresholdOnly());
  ASSERT_OK(run);
  EXPECT_THAT(run->done, ElementsAre("vocabulary"));
  EXPECT_THAT(run->failed, IsEmpty());
  ASSERT_FALSE(run->job_id.empty()) << run->skipped;
  EXPECT_EQ(
      Number("SELECT count(*) FROM batch_jobs WHERE id = '" + run->job_id +
             "' AND job_type = 'maintenance_analyze' AND status = "
             "'completed' AND total_items = 1 AND processed_items = 1 "
             "AND failed_items = 0 AND metadata->>'trigger' = "
             "'threshold' AND created_by = 'avesd maintenance'"),
      1);
  // ANALYZE ran (as the serving role, through migration 021's function).
  EXPECT_EQ(Number("SELECT count(*) FROM pg_stat_user_tables WHERE relname "
                   "= 'vocabulary' AND last_analyze IS NOT NULL AND "
                   "n_mod_since_analyze = 0"),
            1);
  auto again = store_->RunDue(context_, ThresholdOnly());
  ASSERT_OK(again);
  EXPECT_TRUE(again->job_id.empty());
  EXPECT_EQ(again->skipped, "nothing due");
}

TEST_F(MaintenanceTest, TwoReplicasAtOnceRunTheScheduleOnce) {
  store::AnalyzePolicy hourly;
  hourly.schedule = absl::Hours(1);
  auto due = store_->DueTables(context_, hourly);
  ASSERT_OK(due);
  EXPECT_THAT(*due, SizeIs(10)) << "every table, never analyzed on schedule";

  std::unique_ptr<db::Database> other_database = Serving();
  store::MaintenanceStore other(*other_database);
  absl::StatusOr<store::MaintenanceRun> first, second;
  std::thread a([&] { first = store_->RunDue(context_, hourly); });
  std::thread b([&] { second = other.RunDue(context_, hourly); });
  a.join();
  b.join();
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_NE(first->job_id.empty(), second->job_id.empty())
      << "one ran, one skipped: '" << first->skipped << "' / '"
      << second->skipped << "'";
  const store::MaintenanceRun& ran = first->job_id.empty() ? *second : *first;
  EXPECT_THAT(ran.done, SizeIs(10));
  EXPECT_EQ(Number("SELECT count(*) FROM batch_jobs WHERE job_type = "
                   "'maintenance_analyze' AND metadata->>'trigger' = "
                   "'schedule' AND status = 'completed' AND processed_items "
                   "= 10"),
            1);
  EXPECT_EQ(Number("SELECT count(*) FROM pg_stat_user_tables WHERE "
                   "last_analyze IS NOT NULL AND relname IN (SELECT * FROM "
                   "aves_maintained_tables())"),
            10);
  // Not due again within the period, on either replica.
  auto later = other.DueTables(context_, hourly);
  ASSERT_OK(later);
  EXPECT_THAT(*later, IsEmpty());
}

TEST_F(MaintenanceTest, ATableHeldLockedCostsItsOwnItemOnly) {
  store::AnalyzePolicy policy;
  policy.schedule = absl::Hours(1);
  policy.lock_timeout = absl::Milliseconds(200);
  auto holder = test_database_->Connect();
  pqxx::work locked(*holder);
  locked.exec("LOCK TABLE images IN ACCESS EXCLUSIVE MODE");
  auto run = store_->RunDue(context_, policy);
  locked.abort();
  ASSERT_OK(run);
  EXPECT_THAT(run->done, SizeIs(9));
  ASSERT_THAT(run->failed, SizeIs(1));
  EXPECT_THAT(run->failed.front(), HasSubstr("images"));
  EXPECT_EQ(
      Number("SELECT count(*) FROM batch_jobs WHERE id = '" + run->job_id +
             "' AND status = 'completed' AND processed_items = 9 AND "
             "failed_items = 1"),
      1);
  EXPECT_EQ(Number("SELECT count(*) FROM batch_job_errors WHERE job_id = '" +
                   run->job_id + "' AND item_id = 'images'"),
            1);
}

TEST_F(MaintenanceTest, OnlyAvesdMovesARunAndOnlyTheServicesTablesAreAnalyzed) {
  store::AnalyzePolicy policy;
  policy.schedule = absl::Hours(1);
  auto run = store_->RunDue(context_, policy);
  ASSERT_OK(run);
  ASSERT_FALSE(run->job_id.empty());
  store::JobStore jobs(*database_);
  store::JobProgress progress;
  progress.id = run->job_id;
  progress.processed_items_delta = 1;
  EXPECT_THAT(jobs.UpdateProgress(context_, progress).status(),
              testing::StatusIs(absl::StatusCode::kPermissionDenied));

  pqxx::connection serving(role_->UrlFor(test_database_->conninfo()));
  pqxx::nontransaction tx(serving);
  EXPECT_THROW(tx.exec("SELECT aves_analyze_table('schema_migrations')"),
               pqxx::sql_error);
  EXPECT_THROW(tx.exec("SELECT aves_analyze_table(NULL)"), pqxx::sql_error);
}

// Two real avesd processes on one database, checking every 200 ms with a
// schedule no run has met yet: the first check runs it, once.
TEST_F(MaintenanceTest, TwoAvesdRunAScheduledAnalyzeOnceAsAJob) {
  const std::map<std::string, std::string> env = {
      {"AVES_ANALYZE_CHECK_MS", "200"}, {"AVES_ANALYZE_SCHEDULE", "1h"}};
  const std::string url = role_->UrlFor(test_database_->conninfo());
  testing::AvesdProcess first(url, env);
  testing::AvesdProcess second(url, env);
  ASSERT_FALSE(first.Address().empty()) << first.process().Stderr();
  ASSERT_FALSE(second.Address().empty()) << second.process().Stderr();
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (Number("SELECT count(*) FROM batch_jobs WHERE job_type = "
                "'maintenance_analyze' AND status = 'completed'") == 0) {
    ASSERT_LT(absl::Now(), give_up) << "no run completed";
    absl::SleepFor(absl::Milliseconds(100));
  }
  // A few more checks of both replicas go by.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(Number("SELECT count(*) FROM batch_jobs WHERE job_type = "
                   "'maintenance_analyze'"),
            1);
  EXPECT_EQ(Number("SELECT count(*) FROM batch_jobs WHERE job_type = "
                   "'maintenance_analyze' AND processed_items = 10 AND "
                   "total_items = 10 AND started_at IS NOT NULL"),
            1);
  EXPECT_EQ(Number("SELECT count(*) FROM pg_stat_user_tables WHERE "
                   "last_analyze IS NOT NULL AND relname IN (SELECT * FROM "
                   "aves_maintained_tables())"),
            10);
}

TEST_F(MaintenanceTest, IndexHealthFindsUnusedCoveredAndInvalidIndexes) {
  Exec("CREATE INDEX aves_test_unused ON vocabulary (category)");
  Exec("CREATE INDEX aves_test_covered ON batch_jobs (job_type)");
  Exec("INSERT INTO images (url) VALUES ('same'), ('same')");
  // A failed CREATE INDEX CONCURRENTLY leaves an invalid index behind.
  EXPECT_THROW(Exec("CREATE UNIQUE INDEX CONCURRENTLY aves_test_invalid ON "
                    "images (url)"),
               pqxx::sql_error);
  Exec("ANALYZE");
  auto report = store_->ReadIndexHealth(context_, store::AnalyzePolicy());
  ASSERT_OK(report);
  auto find = [&](const std::string& name) -> const store::IndexHealth* {
    for (const store::IndexHealth& index : report->indexes) {
      if (index.index == name) return &index;
    }
    ADD_FAILURE() << name << " not reported";
    return nullptr;
  };
  const store::IndexHealth* unused = find("aves_test_unused");
  ASSERT_NE(unused, nullptr);
  EXPECT_EQ(unused->table, "vocabulary");
  EXPECT_TRUE(unused->valid);
  EXPECT_EQ(unused->scans, 0);
  EXPECT_FALSE(unused->enforces_constraint);
  EXPECT_THAT(unused->covered_by, IsEmpty());
  EXPECT_THAT(unused->definition, HasSubstr("(category)"));
  EXPECT_GT(unused->size_bytes, 0);

  const store::IndexHealth* covered = find("aves_test_covered");
  ASSERT_NE(covered, nullptr);
  EXPECT_THAT(covered->covered_by, ElementsAre("idx_batch_jobs_type"));
  // The wider index is not covered by the narrower one.
  const store::IndexHealth* wide = find("idx_batch_jobs_type");
  ASSERT_NE(wide, nullptr);
  EXPECT_THAT(wide->covered_by, IsEmpty());

  const store::IndexHealth* invalid = find("aves_test_invalid");
  ASSERT_NE(invalid, nullptr);
  EXPECT_FALSE(invalid->valid);
  EXPECT_TRUE(invalid->enforces_constraint);

  const store::IndexHealth* primary = find("vocabulary_pkey");
  ASSERT_NE(primary, nullptr);
  EXPECT_TRUE(primary->enforces_constraint);
  for (const store::IndexHealth& index : report->indexes) {
    EXPECT_GE(index.estimated_bloat_bytes, 0) << index.index;
    EXPECT_LE(index.estimated_bloat_bytes, index.size_bytes) << index.index;
  }
}

// avesctl maintenance analyze (AdminService.RunAnalyze) against a real
// avesd serving as the serving role.
TEST_F(MaintenanceTest, AvesctlPreviewsAndRunsAnAnalyze) {
  testing::AvesdProcess avesd(role_->UrlFor(test_database_->conninfo()));
  const std::string address = avesd.Address();
  ASSERT_FALSE(address.empty()) << avesd.process().Stderr();
  auto avesctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {AVESCTL_PATH, "--addr=" + address});
    return testing::RunCommand(args);
  };
  testing::CommandResult preview =
      avesctl({"maintenance", "analyze", "--dry-run"});
  ASSERT_EQ(preview.exit_code, 0) << preview.err;
  // Never analyzed on the (weekly) schedule: every table is due for it.
  EXPECT_THAT(preview.out, HasSubstr("vocabulary"));
  EXPECT_THAT(preview.out, HasSubstr("schedule"));
  EXPECT_EQ(Number("SELECT count(*) FROM batch_jobs"), 0) << "a dry run";

  testing::CommandResult run =
      avesctl({"maintenance", "analyze", "--table=vocabulary"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("1 analyzed, 0 failed"));
  EXPECT_EQ(Number("SELECT count(*) FROM batch_jobs WHERE job_type = "
                   "'maintenance_analyze' AND metadata->>'trigger' = "
                   "'manual' AND status = 'completed' AND total_items = 1"),
            1);
  EXPECT_EQ(Number("SELECT count(*) FROM pg_stat_user_tables WHERE relname "
                   "= 'vocabulary' AND last_analyze IS NOT NULL"),
            1);

  testing::CommandResult status = avesctl({"maintenance", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("idx_batch_jobs_type"));
  EXPECT_THAT(status.out, HasSubstr("scans since"));

  testing::CommandResult refused =
      avesctl({"maintenance", "analyze", "--table=schema_migrations"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(refused.err, HasSubstr("table"));
  EXPECT_THAT(refused.err, Not(HasSubstr("schema_migrations")))
      << "the caller's text is not echoed";
}

// avesctl maintenance reindex (AdminService.ReindexIndex): a seed index is
// rebuilt (a new file, valid, no leftover) as one job while another client
// keeps writing the table, none of whose writes fails.
TEST_F(MaintenanceTest, AvesctlReindexesASeedIndexWhileWritesGoOn) {
  Exec(
      "INSERT INTO batch_jobs (job_type, status) SELECT 'seed', "
      "(ARRAY['pending','processing','completed'])[1 + g % 3] FROM "
      "generate_series(1, 50000) AS g");
  // avesd serves as the serving role; REINDEX needs the owner's connection.
  testing::AvesdProcess avesd(
      role_->UrlFor(test_database_->conninfo()),
      {{"AVES_MIGRATE_DATABASE_URL", test_database_->conninfo()}});
  const std::string address = avesd.Address();
  ASSERT_FALSE(address.empty()) << avesd.process().Stderr();
  const int64_t file_before = Number(
      "SELECT relfilenode FROM pg_class WHERE relname = "
      "'idx_batch_jobs_status'");

  std::atomic<bool> stop{false};
  std::atomic<int64_t> written{0};
  std::string write_error;
  std::thread writer([&] {
    try {
      auto connection = test_database_->Connect();
      while (!stop.load()) {
        pqxx::nontransaction(*connection)
            .exec("INSERT INTO batch_jobs (job_type) VALUES ('during')");
        written.fetch_add(1);
      }
    } catch (const std::exception& e) {
      write_error = e.what();
    }
  });
  while (written.load() == 0 && write_error.empty()) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  testing::CommandResult run =
      testing::RunCommand({AVESCTL_PATH, "--addr=" + address, "maintenance",
                           "reindex", "--index=idx_batch_jobs_status"});
  const int64_t written_by_then = written.load();
  stop.store(true);
  writer.join();
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("idx_batch_jobs_status rebuilt"));
  EXPECT_EQ(write_error, "") << "a write failed during the REINDEX";
  EXPECT_GT(written_by_then, 0);
  EXPECT_EQ(Number("SELECT count(*) FROM batch_jobs WHERE job_type = "
                   "'during'"),
            written.load());

  EXPECT_NE(Number("SELECT relfilenode FROM pg_class WHERE relname = "
                   "'idx_batch_jobs_status'"),
            file_before)
      << "the index was not rebuilt";
  EXPECT_EQ(Number("SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid "
                   "= i.indexrelid WHERE c.relname LIKE "
                   "'idx_batch_jobs_status%' AND i.indisvalid"),
            1)
      << "one valid index, no _ccnew leftover";
  EXPECT_EQ(Number("SELECT count(*) FROM batch_jobs WHERE job_type = "
                   "'maintenance_reindex' AND status = 'completed' AND "
                   "processed_items = 1 AND metadata->'indexes' ? "
                   "'idx_batch_jobs_status'"),
            1);

  for (const char* index : {"no_such_index", "schema_migrations_pkey"}) {
    testing::CommandResult refused =
        testing::RunCommand({AVESCTL_PATH, "--addr=" + address, "maintenance",
                             "reindex", std::string("--index=") + index});
    EXPECT_NE(refused.exit_code, 0) << index;
    EXPECT_THAT(refused.err, HasSubstr("INVALID_ARGUMENT")) << index;
    EXPECT_THAT(refused.err, Not(HasSubstr(index)))
        << "the caller's text is not echoed";
  }
}

}  // namespace
}  // namespace aves
