// BulkLoadStore against a real PostgreSQL: per-batch commits with the
// committed offset, a foreign-key or unique violation in the middle of a
// batch costing only its row, resuming a load exactly once, and the job
// that tracks each attempt.
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "server/bulk/copy_text.h"
#include "server/bulk/load_store.h"
#include "server/bulk/stage.h"
#include "server/bulk/table_catalog.h"
#include "server/db/database.h"
#include "tests/support/sample_data.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace aves {
namespace {

using ::aves::testing::StatusIs;
using ::testing::HasSubstr;

common::CallContext Call() {
  common::CallContext context;
  context.deadline = absl::Now() + absl::Seconds(30);
  context.holder = "bulk_load_pgtest";
  return context;
}

// user_progress rows: row i = (user i % 10, word i), counts i.
std::string Uuid(int kind, int n) { return testing::FixtureUuid(kind, n); }

class BulkLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("bulk_load");
    ASSERT_OK(database);
    test_database_ = *std::move(database);
    sql_ = test_database_->Connect();
    ASSERT_OK(testing::InsertUsersAndVocabulary(test_database_->conninfo(), 10,
                                                1000));
    db::PoolOptions options;
    options.min_connections = 1;
    database_ =
        std::make_unique<db::Database>(test_database_->conninfo(), options,
                                       std::vector<db::PreparedStatement>{});
    database_->Start();
    ASSERT_TRUE(database_->pool().WaitUntilReady(absl::Seconds(30)));
    store_ = std::make_unique<bulk::DatabaseLoadStore>(
        *database_, bulk::TableCatalog::DefaultTables());
    spec_.load_id = "load-1";
    spec_.table = "user_progress";
    spec_.columns = {"user_id", "vocabulary_id", "correct_count"};
    spec_.total_rows = 300;
  }

  // Row i as a COPY line; `user` overrides the user id.
  bulk::CopyRow Row(int i, std::string user = "") {
    std::string line;
    auto add = [&](bulk::CellValue value, bulk::ColumnKind kind) {
      if (!line.empty()) line += '\t';
      EXPECT_OK(bulk::AppendCopyField(value, kind, &line));
    };
    add(bulk::CellValue::Uuid(user.empty() ? Uuid(1, i % 10) : user),
        bulk::ColumnKind::kUuid);
    add(bulk::CellValue::Uuid(Uuid(2, i)), bulk::ColumnKind::kUuid);
    add(bulk::CellValue::Int64(i), bulk::ColumnKind::kInt32);
    return {i, line};
  }

  std::vector<bulk::CopyRow> Rows(int begin, int end) {
    std::vector<bulk::CopyRow> rows;
    for (int i = begin; i < end; ++i) rows.push_back(Row(i));
    return rows;
  }

  // Commits rows [first, end) as one batch of `state`'s attempt and counts
  // it in.
  absl::Status Commit(bulk::LoadState& state, int first, int end,
                      std::vector<bulk::CopyRow> rows,
                      std::vector<bulk::RejectedRow> rejected = {}) {
    absl::StatusOr<bulk::BatchResult> result =
        store_->CommitBatch(Call(), spec_, state.job_id, first, end,
                            std::move(rows), std::move(rejected));
    if (!result.ok()) return result.status();
    state.Add(*result);
    return absl::OkStatus();
  }

  int64_t Count(const std::string& sql) {
    return pqxx::nontransaction(*sql_).exec1(sql)[0].as<int64_t>();
  }

  std::unique_ptr<testing::TestDatabase> test_database_;
  std::unique_ptr<pqxx::connection> sql_;
  std::unique_ptr<db::Database> database_;
  std::unique_ptr<bulk::DatabaseLoadStore> store_;
  bulk::LoadSpec spec_;
};

TEST_F(BulkLoadTest, BatchesCommitWithTheOffsetAndTheJobCounts) {
  absl::StatusOr<bulk::LoadState> state = store_->Open(Call(), spec_);
  ASSERT_OK(state);
  EXPECT_EQ(state->committed_offset, 0);
  auto job_is = [&](const std::string& condition) {
    return Count("SELECT count(*) FROM batch_jobs WHERE id = '" +
                 state->job_id + "' AND " + condition) == 1;
  };
  EXPECT_TRUE(job_is("status = 'pending' AND started_at IS NULL"))
      << "no row yet";
  for (int b = 0; b < 3; ++b) {
    ASSERT_OK(
        Commit(*state, b * 100, (b + 1) * 100, Rows(b * 100, (b + 1) * 100)));
  }
  EXPECT_TRUE(job_is("status = 'processing' AND started_at IS NOT NULL"));
  EXPECT_EQ(state->committed_offset, 300);
  EXPECT_EQ(state->rows_inserted, 300);
  EXPECT_EQ(state->batches_committed, 3);
  ASSERT_OK(store_->Finish(Call(), *state, bulk::LoadOutcome::kCompleted,
                           "all rows sent"));
  EXPECT_EQ(Count("SELECT count(*) FROM user_progress"), 300);
  EXPECT_EQ(Count("SELECT committed_offset FROM bulk_loads WHERE load_id = "
                  "'load-1'"),
            300);
  pqxx::row job = pqxx::nontransaction(*sql_).exec1(
      "SELECT status, processed_items, failed_items, total_items, "
      "metadata->>'table', metadata->>'load_id' FROM batch_jobs WHERE job_type "
      "= 'bulk_insert'");
  EXPECT_EQ(job[0].as<std::string>(), "completed");
  EXPECT_EQ(job[1].as<int64_t>(), 300);
  EXPECT_EQ(job[2].as<int64_t>(), 0);
  EXPECT_EQ(job[3].as<int64_t>(), 300);
  EXPECT_EQ(job[4].as<std::string>(), "user_progress");
  EXPECT_EQ(job[5].as<std::string>(), "load-1");
}

TEST_F(BulkLoadTest, AForeignKeyViolationMidBatchCostsOnlyItsRow) {
  absl::StatusOr<bulk::LoadState> state = store_->Open(Call(), spec_);
  ASSERT_OK(state);
  std::vector<bulk::CopyRow> rows = Rows(0, 100);
  rows[37] = Row(37, Uuid(9, 9));  // no such user
  rows[38] = Row(5);               // the same key as row 5: unique violation
  rows[38].index = 38;
  std::vector<bulk::RejectedRow> rejected = {{100, "bad uuid in column 1"}};
  ASSERT_OK(Commit(*state, 0, 101, rows, rejected));
  EXPECT_EQ(state->rows_inserted, 98);
  EXPECT_EQ(state->rows_failed, 3);
  EXPECT_EQ(state->committed_offset, 101);
  EXPECT_EQ(Count("SELECT count(*) FROM user_progress"), 98);
  pqxx::result errors = pqxx::nontransaction(*sql_).exec(
      "SELECT item_index, error_message FROM batch_job_errors ORDER BY "
      "item_index");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0][0].as<int64_t>(), 37);
  EXPECT_THAT(errors[0][1].as<std::string>(), HasSubstr("foreign key"));
  EXPECT_EQ(errors[1][0].as<int64_t>(), 38);
  EXPECT_THAT(errors[1][1].as<std::string>(), HasSubstr("duplicate key"));
  EXPECT_EQ(errors[2][0].as<int64_t>(), 100);
  EXPECT_EQ(Count("SELECT failed_items FROM batch_jobs"), 3);
}

TEST_F(BulkLoadTest, AResumedLoadWritesEveryRowExactlyOnce) {
  absl::StatusOr<bulk::LoadState> first = store_->Open(Call(), spec_);
  ASSERT_OK(first);
  ASSERT_OK(Commit(*first, 0, 100, Rows(0, 100)));
  ASSERT_OK(Commit(*first, 100, 200, Rows(100, 200)));
  // The loader's connection dies; avesd records the cancellation.
  ASSERT_OK(store_->Finish(Call(), *first, bulk::LoadOutcome::kCancelled,
                           "client went away"));

  absl::StatusOr<bulk::LoadState> resumed = store_->Open(Call(), spec_);
  ASSERT_OK(resumed);
  EXPECT_EQ(resumed->committed_offset, 200);
  EXPECT_NE(resumed->job_id, first->job_id) << "a new attempt, a new job";
  // The loader resends from its last acknowledged batch (150): rows below
  // the offset are acknowledged without being written again.
  ASSERT_OK(Commit(*resumed, 150, 250, Rows(150, 250)));
  ASSERT_OK(Commit(*resumed, 250, 300, Rows(250, 300)));
  ASSERT_OK(Commit(*resumed, 0, 100, Rows(0, 100)));  // all below: a no-op
  EXPECT_EQ(resumed->rows_inserted, 100);
  ASSERT_OK(
      store_->Finish(Call(), *resumed, bulk::LoadOutcome::kCompleted, ""));
  EXPECT_EQ(Count("SELECT count(*) FROM user_progress"), 300);
  EXPECT_EQ(Count("SELECT count(DISTINCT correct_count) FROM user_progress"),
            300);
  EXPECT_EQ(Count("SELECT count(*) FROM batch_jobs WHERE status = "
                  "'cancelled' AND processed_items = 200"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM batch_jobs WHERE status = "
                  "'completed' AND processed_items = 300 AND "
                  "(metadata->>'resumed_at_offset')::int = 200"),
            1)
      << "the job that completes a load counts all of it";
  EXPECT_EQ(Count("SELECT rows_inserted FROM bulk_loads"), 300);
  // Opening a completed load again: nothing left to do.
  absl::StatusOr<bulk::LoadState> again = store_->Open(Call(), spec_);
  ASSERT_OK(again);
  EXPECT_TRUE(again->already_complete);
  EXPECT_EQ(again->committed_offset, 300);
}

TEST_F(BulkLoadTest, BatchesCommitOutOfOrderAndAResumeSkipsWhatIsDone) {
  absl::StatusOr<bulk::LoadState> first = store_->Open(Call(), spec_);
  ASSERT_OK(first);
  // Batches committing in parallel: the second finishes first. The prefix
  // only moves once the gap closes.
  ASSERT_OK(Commit(*first, 100, 200, Rows(100, 200)));
  EXPECT_EQ(first->committed_offset, 0);
  ASSERT_OK(Commit(*first, 200, 300, Rows(200, 300)));
  EXPECT_EQ(first->committed_offset, 0);
  // The stream dies before [0, 100) commits.
  ASSERT_OK(store_->Finish(Call(), *first, bulk::LoadOutcome::kCancelled,
                           "client went away"));

  absl::StatusOr<bulk::LoadState> resumed = store_->Open(Call(), spec_);
  ASSERT_OK(resumed);
  EXPECT_EQ(resumed->committed_offset, 0);
  ASSERT_EQ(resumed->committed_above.size(), 1u);
  EXPECT_EQ(resumed->committed_above[0], (bulk::RowRange{100, 300}));
  EXPECT_FALSE(resumed->Committed(99));
  EXPECT_TRUE(resumed->Committed(100));
  EXPECT_FALSE(resumed->Committed(300));
  // The loader resends everything in batches of another size: only rows
  // 0-99 are written.
  ASSERT_OK(Commit(*resumed, 0, 150, Rows(0, 150)));
  EXPECT_EQ(resumed->committed_offset, 300) << "the gap closed";
  ASSERT_OK(Commit(*resumed, 150, 300, Rows(150, 300)));
  EXPECT_EQ(resumed->rows_inserted, 100);
  EXPECT_EQ(resumed->batches_committed, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM user_progress"), 300);
  EXPECT_EQ(Count("SELECT count(DISTINCT correct_count) FROM user_progress"),
            300);
  EXPECT_EQ(Count("SELECT committed_offset FROM bulk_loads"), 300);
  EXPECT_EQ(Count("SELECT count(*) FROM bulk_loads WHERE committed_rows = "
                  "'{[0,300)}'"),
            1);
}

TEST_F(BulkLoadTest, ASecondStreamOfALoadIsRefusedWhileTheFirstHoldsIt) {
  absl::StatusOr<bulk::LoadState> first = store_->Open(Call(), spec_);
  ASSERT_OK(first);
  EXPECT_THAT(store_->Open(Call(), spec_),
              StatusIs(absl::StatusCode::kAborted,
                       HasSubstr("load load-1 is being written by another "
                                 "stream (job " +
                                 first->job_id + ")")));
  ASSERT_OK(Commit(*first, 0, 100, Rows(0, 100)));
  ASSERT_OK(store_->Finish(Call(), *first, bulk::LoadOutcome::kCancelled,
                           "client went away"));
  // Once the holder ended, the load resumes.
  absl::StatusOr<bulk::LoadState> resumed = store_->Open(Call(), spec_);
  ASSERT_OK(resumed);
  EXPECT_EQ(resumed->committed_offset, 100);
  EXPECT_EQ(Count("SELECT count(*) FROM bulk_loads WHERE lease_until > now()"),
            1);
}

TEST_F(BulkLoadTest, ALapsedLeaseIsTakenOverAndTheOldStreamFencedOff) {
  // An avesd opens the load, commits a batch, then dies: its lease is no
  // longer renewed (here: moved into the past).
  absl::StatusOr<bulk::LoadState> old = store_->Open(Call(), spec_);
  ASSERT_OK(old);
  ASSERT_OK(Commit(*old, 0, 100, Rows(0, 100)));
  pqxx::nontransaction(*sql_).exec(
      "UPDATE bulk_loads SET lease_until = now() - interval '1 second'");
  absl::StatusOr<bulk::LoadState> taker = store_->Open(Call(), spec_);
  ASSERT_OK(taker);
  EXPECT_NE(taker->job_id, old->job_id);
  EXPECT_EQ(taker->committed_offset, 100);
  EXPECT_EQ(Count("SELECT count(*) FROM batch_jobs WHERE id = '" + old->job_id +
                  "' AND status = 'failed' AND metadata->>'note' LIKE "
                  "'%lease lapsed%'"),
            1);
  // The old stream was only slow, not dead: whatever it sends now is refused
  // and rolls back, batch or finish.
  EXPECT_FALSE(Commit(*old, 100, 200, Rows(100, 200)).ok());
  EXPECT_EQ(Count("SELECT count(*) FROM user_progress"), 100);
  EXPECT_FALSE(
      store_->Finish(Call(), *old, bulk::LoadOutcome::kCompleted, "").ok());
  EXPECT_EQ(Count("SELECT count(*) FROM bulk_loads WHERE lease_until > now() "
                  "AND job_id = '" +
                  taker->job_id + "'"),
            1)
      << "the old attempt's end leaves the new one's lease alone";
  ASSERT_OK(Commit(*taker, 100, 300, Rows(100, 300)));
  ASSERT_OK(store_->Finish(Call(), *taker, bulk::LoadOutcome::kCompleted, ""));
  EXPECT_EQ(Count("SELECT count(*) FROM user_progress"), 300);
  EXPECT_EQ(Count("SELECT processed_items FROM batch_jobs WHERE id = '" +
                  taker->job_id + "'"),
            300)
      << "the fenced-off batch counted nowhere";
  EXPECT_EQ(Count("SELECT count(*) FROM bulk_loads WHERE lease_until IS NULL"),
            1)
      << "an attempt that ends releases its load";
}

TEST_F(BulkLoadTest, LiveAttemptsRenewTheirLeasesUntilTheyEnd) {
  absl::StatusOr<bulk::LoadState> live = store_->Open(Call(), spec_);
  ASSERT_OK(live);
  bulk::LoadSpec gone_spec = spec_;
  gone_spec.load_id = "load-2";
  absl::StatusOr<bulk::LoadState> gone = store_->Open(Call(), gone_spec);
  ASSERT_OK(gone);
  store_->ReleaseLease(gone->job_id);  // its stream ended without a Finish
  pqxx::nontransaction(*sql_).exec(
      "UPDATE bulk_loads SET lease_until = now() + interval '1 second'");
  ASSERT_OK(store_->RenewLeases(Call()));
  EXPECT_EQ(Count("SELECT count(*) FROM bulk_loads WHERE load_id = 'load-1' "
                  "AND lease_until > now() + interval '20 seconds'"),
            1)
      << "renewed by a whole lease (30 s)";
  EXPECT_EQ(Count("SELECT count(*) FROM bulk_loads WHERE load_id = 'load-2' "
                  "AND lease_until < now() + interval '2 seconds'"),
            1)
      << "a released attempt's lease runs out";
  ASSERT_OK(store_->Finish(Call(), *live, bulk::LoadOutcome::kCompleted, ""));
  ASSERT_OK(store_->RenewLeases(Call()));
  EXPECT_EQ(Count("SELECT count(*) FROM bulk_loads WHERE load_id = 'load-1' "
                  "AND lease_until IS NULL"),
            1)
      << "a finished attempt is not renewed";
}

TEST_F(BulkLoadTest, ASweepFailsAbandonedLoadsAndDropsTheirStages) {
  auto stage_exists = [&](const std::string& job_id) {
    return Count("SELECT count(*) FROM pg_tables WHERE tablename = '" +
                 bulk::StageTable(job_id) + "'") == 1;
  };
  // An atomic load whose avesd died two hours ago, mid-load.
  absl::StatusOr<bulk::LoadState> abandoned = store_->Open(Call(), spec_);
  ASSERT_OK(abandoned);
  ASSERT_OK(store_->CreateStage(Call(), spec_, abandoned->job_id));
  ASSERT_OK(store_->StageRows(Call(), spec_, abandoned->job_id, Rows(0, 10)));
  pqxx::nontransaction(*sql_).exec(
      "UPDATE bulk_loads SET updated_at = now() - interval '2 hours' WHERE "
      "load_id = 'load-1'");
  // A running atomic load, and a stage whose load no longer exists.
  bulk::LoadSpec running = spec_;
  running.load_id = "load-2";
  absl::StatusOr<bulk::LoadState> running_state = store_->Open(Call(), running);
  ASSERT_OK(running_state);
  ASSERT_OK(store_->CreateStage(Call(), running, running_state->job_id));
  const std::string gone_job = "00000000-0000-4000-8000-00000000dead";
  ASSERT_OK(store_->CreateStage(Call(), spec_, gone_job));

  absl::StatusOr<bulk::LoadLedger::SweepResult> swept =
      store_->SweepAbandoned(Call(), absl::Hours(1));
  ASSERT_OK(swept);
  EXPECT_EQ(swept->jobs_abandoned, 1);
  EXPECT_EQ(swept->stages_dropped, 2);
  EXPECT_FALSE(stage_exists(abandoned->job_id));
  EXPECT_FALSE(stage_exists(gone_job));
  EXPECT_TRUE(stage_exists(running_state->job_id))
      << "a running load keeps its stage";
  EXPECT_EQ(
      Count("SELECT count(*) FROM batch_jobs WHERE id = '" + abandoned->job_id +
            "' AND status = 'failed' AND metadata->>'note' LIKE "
            "'abandoned%'"),
      1);
  EXPECT_EQ(Count("SELECT count(*) FROM batch_jobs WHERE status IN "
                  "('pending', 'processing')"),
            1);
  // The loader comes back: a new attempt.
  absl::StatusOr<bulk::LoadState> again = store_->Open(Call(), spec_);
  ASSERT_OK(again);
  EXPECT_NE(again->job_id, abandoned->job_id);
  // Nothing left to sweep.
  swept = store_->SweepAbandoned(Call(), absl::Hours(1));
  ASSERT_OK(swept);
  EXPECT_EQ(swept->jobs_abandoned + swept->stages_dropped, 0);
}

TEST_F(BulkLoadTest, ASweepDeletesStoredAnswersOfIdleEndedLoadsOnly) {
  // Three RETURNING loads' stored answers: one ended two hours ago, one
  // ended just now, one still running but idle.
  for (const char* id : {"old", "recent", "running"}) {
    bulk::LoadSpec spec = spec_;
    spec.load_id = id;
    absl::StatusOr<bulk::LoadState> state = store_->Open(Call(), spec);
    ASSERT_OK(state);
    pqxx::nontransaction(*sql_).exec_params(
        "INSERT INTO bulk_returned_rows (load_id, first_row, end_row, rows) "
        "VALUES ($1, 0, 1, '[[0, \"42\"]]')",
        std::string(id));
    if (std::string(id) != "running") {
      ASSERT_OK(
          store_->Finish(Call(), *state, bulk::LoadOutcome::kCompleted, ""));
    }
  }
  pqxx::nontransaction(*sql_).exec(
      "UPDATE bulk_loads SET updated_at = now() - interval '2 hours' WHERE "
      "load_id = 'old'");
  pqxx::nontransaction(*sql_).exec(
      "UPDATE bulk_loads SET updated_at = now() - interval '30 minutes' WHERE "
      "load_id = 'running'");
  absl::StatusOr<bulk::LoadLedger::SweepResult> swept =
      store_->SweepAbandoned(Call(), absl::Hours(1));
  ASSERT_OK(swept);
  EXPECT_EQ(swept->returned_batches_deleted, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM bulk_returned_rows WHERE load_id = "
                  "'old'"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM bulk_returned_rows"), 2);
}

TEST_F(BulkLoadTest, ABatchIsNotHeldUpByAnotherBatchsErrorRows) {
  // Another batch of the load recorded refused rows: its open transaction
  // holds the KEY SHARE lock that inserting batch_job_errors takes on the
  // job. This batch counts itself into the same job and must not wait for
  // it (a batch waiting here while holding the load's row could deadlock
  // with that one).
  absl::StatusOr<bulk::LoadState> state = store_->Open(Call(), spec_);
  ASSERT_OK(state);
  std::unique_ptr<pqxx::connection> other = test_database_->Connect();
  pqxx::work holder(*other);
  holder.exec_params(
      "INSERT INTO batch_job_errors (job_id, item_index, error_message) "
      "VALUES ($1, 0, 'refused')",
      state->job_id);
  common::CallContext quick = Call();
  quick.deadline = absl::Now() + absl::Seconds(5);
  absl::StatusOr<bulk::BatchResult> batch = store_->CommitBatch(
      quick, spec_, state->job_id, 0, 100, Rows(0, 100), {});
  ASSERT_OK(batch);
  EXPECT_EQ(batch->rows_inserted, 100);
  holder.abort();
}

TEST_F(BulkLoadTest, ALoadIdOfOtherColumnsIsRefused) {
  absl::StatusOr<bulk::LoadState> state = store_->Open(Call(), spec_);
  ASSERT_OK(state);
  bulk::LoadSpec other = spec_;
  other.columns = {"user_id", "vocabulary_id"};
  EXPECT_THAT(store_->Open(Call(), other),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("use a new load id")));
}

}  // namespace
}  // namespace aves
