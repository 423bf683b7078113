// The bulk loader's state machine without gRPC or a database: a fake stream
// (reads, writes and executor work happen when the test says) and a fake
// store (records what a load asks of the database).
#include "server/bulk/loader.h"

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace aves::bulk {
namespace {

using ::aves::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The call, as the test drives it.
class FakeStream final : public LoadStream {
 public:
  void StartRead() override { ++reads_started; }
  void StartWrite(const LoadMessage& message) override {
    ASSERT_FALSE(write_in_flight) << "one write at a time";
    write_in_flight = true;
    written.push_back(message);
  }
  void Finish(const absl::Status& status) override {
    ASSERT_FALSE(finished.has_value()) << "Finish called twice";
    finished = status;
  }
  bool Post(std::function<void()> work) override {
    if (refuse_posts) return false;
    posted.push_back(std::move(work));
    return true;
  }
  common::CallContext Context() const override {
    common::CallContext context;
    context.holder = "loader_test";
    return context;
  }
  bool Cancelled() const override { return cancelled; }

  int reads_started = 0;
  bool write_in_flight = false;
  std::vector<LoadMessage> written;
  std::optional<absl::Status> finished;
  std::deque<std::function<void()>> posted;
  bool refuse_posts = false;
  bool cancelled = false;
};

// What the load asked of the database.
class FakeStore final : public LoadStore {
 public:
  FakeStore() {
    TableInfo table;
    table.name = "words";
    ColumnInfo id;
    id.name = "id";
    id.kind = ColumnKind::kInt64;
    id.nullable = false;
    ColumnInfo word;
    word.name = "word";
    word.kind = ColumnKind::kText;
    table.columns = {id, word};
    catalog_ = std::make_shared<const TableCatalog>(TableCatalog::Of({table}));
  }

  absl::StatusOr<std::shared_ptr<const TableCatalog>> Catalog() override {
    return catalog_;
  }
  absl::StatusOr<LoadState> Open(const common::CallContext&,
                                 const LoadSpec& spec) override {
    opened = spec;
    LoadState state = open_state;
    state.load_id = spec.load_id;
    state.job_id = "job-1";
    return state;
  }
  absl::Status Finish(const common::CallContext&, const LoadState& state,
                      LoadOutcome outcome, const std::string& note) override {
    finishes.push_back({outcome, note, state.committed_offset});
    return finish_status;
  }
  absl::StatusOr<BatchResult> CommitBatch(
      const common::CallContext&, const LoadSpec&, const std::string&,
      int64_t first_row, int64_t end_row, std::vector<CopyRow> rows,
      std::vector<RejectedRow> rejected,
      std::vector<ReturnedRow>* returned) override {
    batches.push_back({first_row, end_row, rows, rejected});
    if (!commit_status.ok()) return commit_status;
    if (returned != nullptr) {
      for (const CopyRow& row : rows) {
        returned->push_back({row.index, {row.line}});
      }
    }
    committed_end = std::max(committed_end, end_row);
    BatchResult result;
    result.rows_inserted = static_cast<int64_t>(rows.size());
    result.rows_failed = static_cast<int64_t>(rejected.size());
    result.committed_offset = committed_end;
    result.wrote = true;
    return result;
  }
  void ReleaseLease(const std::string& job_id) override {
    released_leases.push_back(job_id);
  }
  absl::Status CreateStage(const common::CallContext&, const LoadSpec&,
                           const std::string&) override {
    ++stages_created;
    return stage_status;
  }
  absl::Status StageRows(const common::CallContext&, const LoadSpec&,
                         const std::string&,
                         const std::vector<CopyRow>& rows) override {
    staged_rows += static_cast<int64_t>(rows.size());
    return absl::OkStatus();
  }
  absl::Status PublishStage(const common::CallContext&, const LoadSpec&,
                            int64_t rows, LoadState* state) override {
    ++publishes;
    state->committed_offset = rows;
    state->rows_inserted = staged_rows;
    return absl::OkStatus();
  }
  absl::Status DropStage(const common::CallContext&,
                         const std::string&) override {
    ++stages_dropped;
    return absl::OkStatus();
  }

  struct Batch {
    int64_t first, end;
    std::vector<CopyRow> rows;
    std::vector<RejectedRow> rejected;
  };
  struct Finished {
    LoadOutcome outcome;
    std::string note;
    int64_t offset;
  };
  LoadState open_state;
  std::optional<LoadSpec> opened;
  std::vector<Batch> batches;
  std::vector<Finished> finishes;
  absl::Status commit_status;
  absl::Status finish_status;
  int64_t committed_end = 0;
  int stages_created = 0;
  int64_t staged_rows = 0;
  int publishes = 0;
  int stages_dropped = 0;
  absl::Status stage_status;
  std::vector<std::string> released_leases;

 private:
  std::shared_ptr<const TableCatalog> catalog_;
};

// Rows (id, word) as a chunk.
class Chunk final : public RowChunkView {
 public:
  Chunk(int64_t first, std::vector<std::vector<CellValue>> rows)
      : first_(first), rows_(std::move(rows)) {}
  int64_t first_row() const override { return first_; }
  int rows() const override { return static_cast<int>(rows_.size()); }
  int cells(int row) const override {
    return static_cast<int>(rows_[row].size());
  }
  CellValue cell(int row, int column) const override {
    return rows_[row][column];
  }

 private:
  int64_t first_;
  std::vector<std::vector<CellValue>> rows_;
};

std::vector<CellValue> Row(int64_t id) {
  return {CellValue::Int64(id), CellValue::String("w" + std::to_string(id))};
}

Chunk Rows(int64_t first, int64_t end) {
  std::vector<std::vector<CellValue>> rows;
  for (int64_t i = first; i < end; ++i) rows.push_back(Row(i));
  return Chunk(first, std::move(rows));
}

LoadRequest Header(LoadMode mode = LoadMode::kInsert, int batch_size = 2) {
  LoadRequest header;
  header.load_id = "load-1";
  header.table = "words";
  header.columns = {"id", "word"};
  header.mode = mode;
  header.batch_size = batch_size;
  if (mode == LoadMode::kUpsert) header.conflict_columns = {"id"};
  if (mode == LoadMode::kReturning) header.returning_columns = {"id"};
  return header;
}

class LoaderTest : public ::testing::Test {
 protected:
  LoaderTest() { limits_.parallel_batches = 2; }

  Loader& loader() {
    if (loader_ == nullptr) {
      loader_ = std::make_unique<Loader>(stream_, store_, limits_);
      loader_->Start();
    }
    return *loader_;
  }

  // Runs posted work and completes writes until nothing is left to do.
  void Settle() {
    while (true) {
      if (!stream_.posted.empty()) {
        std::function<void()> work = std::move(stream_.posted.front());
        stream_.posted.pop_front();
        work();
      } else if (stream_.write_in_flight) {
        stream_.write_in_flight = false;
        loader().OnWriteDone(true);
      } else {
        return;
      }
    }
  }

  // The header, settled: the load is open and its first progress is out.
  void Open(LoadRequest header = Header()) {
    loader().OnHeader(std::move(header));
    Settle();
  }

  int Count(LoadMessage::Kind kind) const {
    int n = 0;
    for (const LoadMessage& message : stream_.written)
      n += message.kind == kind;
    return n;
  }

  FakeStream stream_;
  FakeStore store_;
  LoadLimits limits_;
  std::unique_ptr<Loader> loader_;
};

TEST_F(LoaderTest, RowsCommitInBatchesAndTheSummaryEndsTheCall) {
  Open();
  ASSERT_TRUE(store_.opened.has_value());
  EXPECT_EQ(store_.opened->batch_rows, 2);
  ASSERT_EQ(stream_.written.size(), 1u);
  EXPECT_EQ(stream_.written[0].kind, LoadMessage::Kind::kProgress)
      << "the committed offset goes first";
  loader().OnRows(Rows(0, 3));
  loader().OnRows(Rows(3, 5));
  Settle();
  loader().OnReadsEnded();  // half-close
  Settle();
  ASSERT_EQ(store_.batches.size(), 3u) << "no empty batch for the tail";
  EXPECT_EQ(store_.batches[0].first, 0);
  EXPECT_EQ(store_.batches[0].end, 2) << "a batch is cut inside a message";
  EXPECT_EQ(store_.batches[1].first, 2);
  EXPECT_EQ(store_.batches[1].end, 4) << "across messages";
  EXPECT_EQ(store_.batches[2].first, 4);
  EXPECT_EQ(store_.batches[2].end, 5);
  EXPECT_EQ(store_.batches[0].rows[1].line, "1\tw1");
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_OK(*stream_.finished);
  ASSERT_EQ(store_.finishes.size(), 1u);
  EXPECT_EQ(store_.finishes[0].outcome, LoadOutcome::kCompleted);
  EXPECT_EQ(store_.finishes[0].note, "5 rows committed");
  const LoadMessage& summary = stream_.written.back();
  EXPECT_EQ(summary.kind, LoadMessage::Kind::kSummary);
  EXPECT_EQ(summary.progress.committed_offset, 5);
  EXPECT_EQ(summary.progress.rows_inserted, 5);
  EXPECT_EQ(summary.load_id, "load-1");
  EXPECT_EQ(summary.job_id, "job-1");
  EXPECT_EQ(loader().rows_inserted(), 5);
}

TEST_F(LoaderTest, AtMostParallelBatchesCommitAndReadingPausesUntilOneEnds) {
  Open(Header(LoadMode::kInsert, /*batch_size=*/1));
  const int reads = stream_.reads_started;
  loader().OnRows(Rows(0, 1));  // batch 1 in flight
  loader().OnRows(Rows(1, 2));  // batch 2 in flight
  EXPECT_EQ(stream_.reads_started, reads + 2);
  loader().OnRows(Rows(2, 3));  // full, but two are in flight: pause
  EXPECT_EQ(stream_.reads_started, reads + 2) << "reading paused";
  ASSERT_EQ(stream_.posted.size(), 2u);
  std::function<void()> first = std::move(stream_.posted.front());
  stream_.posted.pop_front();
  first();  // one commit ends
  EXPECT_EQ(stream_.reads_started, reads + 3) << "reading resumed";
  EXPECT_EQ(stream_.posted.size(), 2u) << "the waiting batch went";
  Settle();
  EXPECT_EQ(store_.batches.size(), 3u);
}

TEST_F(LoaderTest, AMessageOfManyRowsIsCutIntoBatchesOfBatchSize) {
  Open(Header(LoadMode::kInsert, /*batch_size=*/1000));
  const int reads = stream_.reads_started;
  loader().OnRows(Rows(0, 10'000));
  EXPECT_EQ(stream_.posted.size(), 2u) << "two batches commit at once";
  EXPECT_EQ(stream_.reads_started, reads)
      << "reading waits while cut batches wait for a commit";
  Settle();
  EXPECT_EQ(stream_.reads_started, reads + 1);
  ASSERT_EQ(store_.batches.size(), 10u);
  for (size_t i = 0; i < store_.batches.size(); ++i) {
    EXPECT_EQ(store_.batches[i].first, static_cast<int64_t>(i) * 1000);
    EXPECT_EQ(store_.batches[i].rows.size(), 1000u);
  }
  loader().OnReadsEnded();
  Settle();
  EXPECT_EQ(stream_.written.back().progress.batches_committed, 10);
  EXPECT_EQ(stream_.written.back().progress.committed_offset, 10'000);
}

// Rows whose word is `bytes` long.
Chunk BigRows(int64_t first, int64_t end, size_t bytes) {
  std::vector<std::vector<CellValue>> rows;
  for (int64_t i = first; i < end; ++i) {
    rows.push_back(
        {CellValue::Int64(i), CellValue::String(std::string(bytes, 'x'))});
  }
  return Chunk(first, std::move(rows));
}

TEST_F(LoaderTest, ABatchIsCutAtItsShareOfTheStreamsBytes) {
  limits_.max_stream_bytes = 40'000;  // batches of 10,000 bytes: 2 + 2 batches
  Open(Header(LoadMode::kInsert, /*batch_size=*/50'000));
  loader().OnRows(BigRows(0, 30, 1000));
  Settle();
  loader().OnReadsEnded();
  Settle();
  ASSERT_GE(store_.batches.size(), 3u);
  for (const FakeStore::Batch& batch : store_.batches) {
    size_t bytes = 0;
    for (const CopyRow& row : batch.rows) bytes += row.line.size() + 1;
    // Cut once it reaches its share: at most one row beyond it.
    EXPECT_LT(bytes, 10'000u + 1010u);
  }
  EXPECT_EQ(store_.batches.back().end, 30);
}

TEST_F(LoaderTest, ReadingPausesWhileTheStreamHoldsItsBytes) {
  limits_.max_stream_bytes = 40'000;
  limits_.parallel_batches = 16;  // not the commit slots: the bytes stop it
  Open(Header(LoadMode::kInsert, /*batch_size=*/50'000));
  const int reads = stream_.reads_started;
  int64_t sent = 0;
  // Commits never end: the stream must stop reading near its bound.
  while (stream_.reads_started > reads + sent - 1 && sent < 1000) {
    loader().OnRows(BigRows(sent, sent + 1, 1000));
    ++sent;
  }
  EXPECT_LT(sent, 1000) << "reading never paused";
  EXPECT_LE(sent * 1008, 40'000 + 1008) << "held beyond the bound";
  EXPECT_GE(sent * 1008, 40'000 - 2 * 1008) << "paused long before it";
  // A commit ends: reading goes on.
  std::function<void()> first = std::move(stream_.posted.front());
  stream_.posted.pop_front();
  first();
  EXPECT_EQ(stream_.reads_started, reads + sent);
}

TEST_F(LoaderTest, ReturnedRowsNotYetReadHoldTheStreamToo) {
  limits_.max_stream_bytes = 1 << 20;
  limits_.max_returned_message_bytes = 4000;
  Open(Header(LoadMode::kReturning, /*batch_size=*/10));
  // The fake completes no write until Settle: the client reads nothing.
  const int reads = stream_.reads_started;
  int64_t sent = 0;
  while (stream_.reads_started == reads + sent && sent < 10'000) {
    loader().OnRows(BigRows(sent * 10, sent * 10 + 10, 1000));
    ++sent;
    while (!stream_.posted.empty()) {
      std::function<void()> work = std::move(stream_.posted.front());
      stream_.posted.pop_front();
      work();
    }
  }
  EXPECT_LT(sent, 10'000) << "returned rows queued without a bound";
  EXPECT_GE(sent, 90) << "paused long before 1 MiB of returned rows";
  // The client reads again: every returned row goes out, in messages of at
  // most 4,000 bytes, and reading resumes.
  Settle();
  EXPECT_GT(stream_.reads_started, reads + sent - 1);
  int64_t returned = 0;
  for (const LoadMessage& message : stream_.written) {
    if (message.kind != LoadMessage::Kind::kReturned) continue;
    returned += static_cast<int64_t>(message.returned.size());
    int64_t bytes = 0;
    for (const ReturnedRow& row : message.returned)
      bytes += ReturnedRowBytes(row);
    EXPECT_LE(bytes, 4000);
    EXPECT_GE(message.returned.size(), 1u);
  }
  EXPECT_EQ(returned, sent * 10);
}

TEST_F(LoaderTest, UpsertsCommitOneBatchAtATime) {
  Open(Header(LoadMode::kUpsert, /*batch_size=*/1));
  const int reads = stream_.reads_started;
  loader().OnRows(Rows(0, 1));
  loader().OnRows(Rows(1, 2));
  EXPECT_EQ(stream_.reads_started, reads + 1) << "paused behind one batch";
  EXPECT_EQ(stream_.posted.size(), 1u);
  Settle();
  EXPECT_EQ(store_.batches.size(), 2u);
}

TEST_F(LoaderTest, ABadRowIsRecordedAndTheRestGoesOn) {
  Open();
  loader().OnRows(Chunk(0, {Row(0), {CellValue::Int64(1)}, Row(2)}));
  loader().OnRows(Chunk(3, {{CellValue::Null(), CellValue::String("x")}}));
  loader().OnRows(Chunk(4, {{CellValue::Missing(), CellValue::String("x")}}));
  loader().OnReadsEnded();
  Settle();
  std::vector<std::string> refused;
  for (const FakeStore::Batch& batch : store_.batches)
    for (const RejectedRow& row : batch.rejected)
      refused.push_back(row.message);
  EXPECT_THAT(refused,
              ElementsAre("row 1: 1 cells for 2 columns",
                          "row 3, column id: NULL in a NOT NULL column",
                          "row 4, column id: the cell has no value (use "
                          "null_value)"));
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_OK(*stream_.finished);
}

TEST_F(LoaderTest, AnAtomicLoadEndsAtItsFirstBadRowAndLeavesNothing) {
  LoadRequest header = Header();
  header.atomic = true;
  Open(header);
  EXPECT_EQ(store_.stages_created, 1);
  loader().OnRows(Chunk(0, {Row(0), {CellValue::Int64(1)}}));
  Settle();
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished, StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("row 1: 1 cells")));
  EXPECT_EQ(store_.stages_dropped, 1);
  EXPECT_EQ(store_.publishes, 0);
  ASSERT_EQ(store_.finishes.size(), 1u);
  EXPECT_EQ(store_.finishes[0].outcome, LoadOutcome::kFailed);
}

TEST_F(LoaderTest, AnAtomicLoadStagesThenPublishesOnce) {
  LoadRequest header = Header();
  header.atomic = true;
  Open(header);
  loader().OnRows(Rows(0, 5));
  loader().OnReadsEnded();
  Settle();
  EXPECT_TRUE(store_.batches.empty()) << "staged, not committed per batch";
  EXPECT_EQ(store_.staged_rows, 5);
  EXPECT_EQ(store_.publishes, 1);
  EXPECT_EQ(Count(LoadMessage::Kind::kProgress), 2)
      << "at the start, and once the reads ended (it proves a half-close)";
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_OK(*stream_.finished);
  EXPECT_EQ(stream_.written.back().progress.committed_offset, 5);
}

TEST_F(LoaderTest, ACancelEndsTheLoadOnlyAfterItsBatchCommits) {
  Open();
  loader().OnRows(Rows(0, 2));  // a batch in flight
  ASSERT_EQ(stream_.posted.size(), 1u);
  stream_.cancelled = true;
  loader().OnReadsEnded();
  EXPECT_FALSE(stream_.finished.has_value()) << "its batch holds our rows";
  Settle();
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished, StatusIs(absl::StatusCode::kCancelled));
  ASSERT_EQ(store_.finishes.size(), 1u);
  EXPECT_EQ(store_.finishes[0].outcome, LoadOutcome::kCancelled);
  EXPECT_EQ(store_.finishes[0].offset, 2) << "the job records the offset";
}

TEST_F(LoaderTest, ReadsThatEndAreAHalfCloseOnlyOnceAWriteAfterThemArrives) {
  // A client's cancel (RST_STREAM) can end the reads before gRPC reports
  // the call cancelled: it must not complete the load with what came so far.
  Open();
  loader().OnRows(Rows(0, 2));
  Settle();  // the batch and its progress are out
  const size_t written = stream_.written.size();
  loader().OnReadsEnded();  // stream_.Cancelled() is still false
  EXPECT_TRUE(stream_.posted.empty()) << "no completion yet";
  ASSERT_EQ(stream_.written.size(), written + 1);
  EXPECT_EQ(stream_.written.back().kind, LoadMessage::Kind::kProgress);
  ASSERT_TRUE(stream_.write_in_flight);
  stream_.write_in_flight = false;
  loader().OnWriteDone(false);  // the client is gone
  Settle();
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished, StatusIs(absl::StatusCode::kCancelled));
  ASSERT_EQ(store_.finishes.size(), 1u);
  EXPECT_EQ(store_.finishes[0].outcome, LoadOutcome::kCancelled);
  EXPECT_EQ(store_.finishes[0].offset, 2) << "resumable where it stopped";
}

TEST_F(LoaderTest, AHalfCloseCompletesOnceTheProgressAfterItArrives) {
  Open();
  loader().OnRows(Rows(0, 2));
  Settle();
  loader().OnReadsEnded();
  EXPECT_TRUE(stream_.posted.empty());
  Settle();  // the probe's write succeeds
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_OK(*stream_.finished);
  ASSERT_EQ(store_.finishes.size(), 1u);
  EXPECT_EQ(store_.finishes[0].outcome, LoadOutcome::kCompleted);
}

TEST_F(LoaderTest, AFailedWriteEndsTheLoadAsCancelled) {
  Open();
  loader().OnRows(Rows(0, 2));
  ASSERT_EQ(stream_.posted.size(), 1u);
  std::function<void()> commit = std::move(stream_.posted.front());
  stream_.posted.pop_front();
  commit();  // its progress goes out
  ASSERT_TRUE(stream_.write_in_flight);
  stream_.write_in_flight = false;
  loader().OnWriteDone(false);
  Settle();
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished, StatusIs(absl::StatusCode::kCancelled));
  ASSERT_EQ(store_.finishes.size(), 1u);
  EXPECT_EQ(store_.finishes[0].outcome, LoadOutcome::kCancelled);
}

TEST_F(LoaderTest, ADatabaseErrorFailsTheLoad) {
  store_.commit_status = absl::UnavailableError("database unreachable");
  Open();
  loader().OnRows(Rows(0, 2));
  Settle();
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished, StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_EQ(store_.finishes.size(), 1u);
  EXPECT_EQ(store_.finishes[0].outcome, LoadOutcome::kFailed);
}

TEST_F(LoaderTest, AResumedLoadSkipsWhatIsCommittedAndRefusesAGap) {
  store_.open_state.committed_offset = 3;
  Open();
  EXPECT_EQ(stream_.written[0].progress.committed_offset, 3);
  loader().OnRows(Rows(1, 5));
  loader().OnReadsEnded();
  Settle();
  ASSERT_FALSE(store_.batches.empty());
  std::vector<int64_t> written;
  for (const FakeStore::Batch& batch : store_.batches)
    for (const CopyRow& row : batch.rows) written.push_back(row.index);
  EXPECT_THAT(written, ElementsAre(3, 4)) << "rows 1 and 2 were committed";
}

TEST_F(LoaderTest, ChunksMustStartAtOrBelowTheOffsetAndFollowEachOther) {
  store_.open_state.committed_offset = 3;
  Open();
  loader().OnRows(Rows(4, 5));
  Settle();
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(
      *stream_.finished,
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("rows.first_row: 4: the load has committed 3")));
}

TEST_F(LoaderTest, ChunksThatSkipRowsAreRefused) {
  Open();
  loader().OnRows(Rows(0, 1));
  loader().OnRows(Rows(2, 3));
  Settle();
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("rows.first_row: 2: expected 1")));
}

TEST_F(LoaderTest, TheHeaderComesFirstAndOnce) {
  loader().OnRows(Rows(0, 1));
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the first message must be the header")));
  EXPECT_FALSE(store_.opened.has_value());
}

TEST_F(LoaderTest, ASecondHeaderEndsTheLoad) {
  Open();
  loader().OnHeader(Header());
  Settle();
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished, StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("header: sent twice")));
  ASSERT_EQ(store_.finishes.size(), 1u);
  EXPECT_EQ(store_.finishes[0].outcome, LoadOutcome::kFailed);
}

TEST_F(LoaderTest, AStreamThatEndsBeforeItsHeaderIsRefused) {
  loader().OnReadsEnded();
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the stream ended before its header")));
}

TEST_F(LoaderTest, ABadHeaderIsRefusedWithoutALoad) {
  LoadRequest header = Header();
  header.table = "nope";
  Open(header);
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished, StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("header.table")));
  EXPECT_FALSE(store_.opened.has_value());
  EXPECT_TRUE(store_.finishes.empty());
}

TEST_F(LoaderTest, ReturnedRowsGoOutBeforeTheirProgressInBoundedMessages) {
  Open(Header(LoadMode::kReturning, /*batch_size=*/2500));
  loader().OnRows(Rows(0, 2500));
  Settle();
  std::vector<size_t> sizes;
  for (const LoadMessage& message : stream_.written) {
    if (message.kind == LoadMessage::Kind::kReturned)
      sizes.push_back(message.returned.size());
  }
  EXPECT_THAT(sizes, ElementsAre(1000, 1000, 500));
  ASSERT_GE(stream_.written.size(), 5u);
  EXPECT_EQ(stream_.written[4].kind, LoadMessage::Kind::kProgress)
      << "the batch's progress follows its rows";
  EXPECT_EQ(stream_.written[2].returned.front().index, 1000);
}

TEST_F(LoaderTest, AJobEndedElsewhereStillHearsItsRowsAreIn) {
  // Another stream of the same load completed the job first: Finish is
  // refused by the transition rule, but every row of this stream is in.
  store_.finish_status = absl::FailedPreconditionError("the job is completed");
  Open();
  loader().OnRows(Rows(0, 2));
  loader().OnReadsEnded();
  Settle();
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_OK(*stream_.finished);
  EXPECT_EQ(stream_.written.back().kind, LoadMessage::Kind::kSummary);
}

TEST_F(LoaderTest, AFailedFinishFailsTheCall) {
  store_.finish_status = absl::UnavailableError("database unreachable");
  Open();
  loader().OnRows(Rows(0, 2));
  loader().OnReadsEnded();
  Settle();
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished, StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(LoaderTest, AFullExecutorRefusesTheLoad) {
  stream_.refuse_posts = true;
  loader().OnHeader(Header());
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished, StatusIs(absl::StatusCode::kResourceExhausted,
                                          HasSubstr("server busy")));
}

TEST_F(LoaderTest, TheLoadsLeaseIsReleasedHoweverTheCallEnds) {
  Open();
  loader().OnRows(Rows(0, 2));
  Settle();
  stream_.cancelled = true;
  loader().OnReadsEnded();
  Settle();
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_TRUE(store_.released_leases.empty()) << "not while the call lives";
  loader_.reset();
  EXPECT_THAT(store_.released_leases, ElementsAre("job-1"));
}

TEST_F(LoaderTest, AStageThatCannotBeCreatedEndsTheAttemptsJob) {
  store_.stage_status = absl::UnavailableError("database unreachable");
  LoadRequest header = Header();
  header.atomic = true;
  Open(header);
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished, StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_EQ(store_.finishes.size(), 1u) << "no job left running";
  EXPECT_EQ(store_.finishes[0].outcome, LoadOutcome::kFailed);
}

TEST_F(LoaderTest, RowsBeyondACompletedLoadAreRefusedNotDropped) {
  store_.open_state.committed_offset = 4;
  store_.open_state.already_complete = true;
  Open();
  loader().OnRows(Rows(0, 6));
  Settle();
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_THAT(*stream_.finished,
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("completed with 4 rows; row 4 and later need "
                                 "a new load id")));
  EXPECT_TRUE(store_.batches.empty());
  EXPECT_TRUE(store_.finishes.empty()) << "its job stays completed";
}

TEST_F(LoaderTest, ALoadCompletedBeforeWritesNothingAndKeepsItsJob) {
  store_.open_state.committed_offset = 4;
  store_.open_state.already_complete = true;
  Open();
  loader().OnRows(Rows(0, 4));
  loader().OnReadsEnded();
  Settle();
  EXPECT_TRUE(store_.batches.empty()) << "nothing to commit";
  EXPECT_TRUE(store_.finishes.empty()) << "a final job never changes";
  ASSERT_TRUE(stream_.finished.has_value());
  EXPECT_OK(*stream_.finished);
  EXPECT_EQ(stream_.written.back().kind, LoadMessage::Kind::kSummary);
}

}  // namespace
}  // namespace aves::bulk
