// BulkLoadStore: the database side of resumable bulk loads (issue 5).
// Rows arrive as COPY text lines (db/copy_text), already checked against the
// column types; each batch commits in one transaction together with the
// load's committed offset, its job's counters and the errors of the rows it
// left out. When PostgreSQL refuses a batch (a foreign key, a unique key),
// the batch is split in halves under savepoints until the offending rows are
// found; they are recorded and the rest of the batch commits, so one bad row
// never costs a batch.
//
// Batches of one load may commit concurrently on several pooled connections
// and so finish out of order: the load records the union of committed row
// ranges (bulk_loads.committed_rows) beside the contiguous prefix where a
// resumed loader restarts.
//
// Each attempt of a load is a batch_jobs row (job_type bulk_insert,
// metadata: load id, table, columns, mode): processing, then completed,
// failed or cancelled. Resuming a load whose attempt ended starts a new
// attempt (a final job status never changes) from the committed offset.
#ifndef AVES_SERVER_STORE_BULK_LOAD_STORE_H_
#define AVES_SERVER_STORE_BULK_LOAD_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "server/db/database.h"

namespace aves::store {

struct LoadSpec {
  std::string load_id;
  std::string table;                 // a catalog name (TableCatalog)
  std::vector<std::string> columns;  // catalog names, in row order
  std::string mode = "insert";       // insert | upsert | returning
  int64_t total_rows = 0;            // 0: unknown
  // upsert: ON CONFLICT (conflict_columns) DO UPDATE SET update_columns
  // (catalog names); no update columns: DO NOTHING.
  std::vector<std::string> conflict_columns;
  std::vector<std::string> update_columns;
  // returning: the columns to send back for each inserted row.
  std::vector<std::string> returning_columns;
};

// The returning_columns of one inserted row, as PostgreSQL prints them
// (nullopt: NULL), with the row's number in the load.
struct ReturnedRow {
  int64_t index = 0;
  std::vector<std::optional<std::string>> values;
};

// Row numbers [first, end) of a load.
struct RowRange {
  int64_t first = 0;
  int64_t end = 0;
  bool operator==(const RowRange& other) const {
    return first == other.first && end == other.end;
  }
};

// What one committed batch did.
struct BatchResult {
  int64_t rows_inserted = 0;
  int64_t rows_updated = 0;
  int64_t rows_failed = 0;
  int64_t committed_offset = 0;  // the load's prefix after this batch
  bool wrote = false;            // false: every row was committed before
};

struct LoadState {
  std::string load_id;
  std::string job_id;            // the current attempt
  int64_t committed_offset = 0;  // rows [0, offset) are done
  // Batches committed above the offset (batches commit in parallel and may
  // finish out of order): their rows are skipped, not written again.
  std::vector<RowRange> committed_above;
  int64_t rows_inserted = 0;  // this attempt
  int64_t rows_failed = 0;    // this attempt
  int64_t rows_updated = 0;   // this attempt (upsert)
  int64_t batches_committed = 0;
  bool already_complete = false;  // the load finished before: nothing to do

  // Whether row `index` was committed before this attempt opened.
  bool Committed(int64_t index) const;
  // Counts a batch of this attempt in.
  void Add(const BatchResult& batch);
};

// One checked row: its number in the load and its COPY text line (no
// newline).
struct CopyRow {
  int64_t index = 0;
  std::string line;
};

// A row refused before the database (wrong type, NOT NULL, ...).
struct RejectedRow {
  int64_t index = 0;
  std::string message;
};

class BulkLoadStore {
 public:
  explicit BulkLoadStore(db::Database& database) : database_(database) {}

  // Starts `spec.load_id`, or resumes it at its committed offset.
  // FAILED_PRECONDITION when the id belongs to a load of another table or
  // columns.
  absl::StatusOr<LoadState> Open(const db::CallContext& context,
                                 const LoadSpec& spec);

  // Commits rows [first_row, end_row) of the attempt `job_id`: `rows`
  // (ascending, within the range) by COPY, `rejected` as job errors, and the
  // range into the load's committed rows — one transaction. Batches of one
  // load may commit concurrently, in any order. Rows some earlier batch
  // committed (a resumed load resending them, a second stream of the same
  // load) are acknowledged without being written again; the check is redone
  // under the load's row lock at the end, so no row is ever written twice.
  // In returning mode `returned` receives the inserted rows' values, in
  // input order.
  absl::StatusOr<BatchResult> CommitBatch(
      const db::CallContext& context, const LoadSpec& spec,
      const std::string& job_id, int64_t first_row, int64_t end_row,
      std::vector<CopyRow> rows, std::vector<RejectedRow> rejected,
      std::vector<ReturnedRow>* returned = nullptr);

  // Atomic loads (all or nothing) stage their rows in an unlogged table of
  // their own — no constraints, so staging never fails on a row the target
  // would refuse — and publish them in one transaction at the end. Memory
  // stays bounded, and a load that fails or is abandoned drops its stage:
  // nothing of it ever reaches the target.
  static std::string StageTable(const std::string& load_id);
  absl::Status CreateStage(const db::CallContext& context,
                           const LoadSpec& spec);
  // Stages rows with their numbers (so an upsert's last row wins however
  // the batches interleave); batches may stage concurrently.
  absl::Status StageRows(const db::CallContext& context, const LoadSpec& spec,
                         const std::string& job_id,
                         const std::vector<CopyRow>& rows);
  // INSERT ... SELECT from the stage, the offset, the job's count, DROP of the
  // stage: one transaction. A row the target refuses fails the whole load
  // (INVALID_ARGUMENT with PostgreSQL's reason, which names the values).
  absl::Status PublishStage(const db::CallContext& context,
                            const LoadSpec& spec, int64_t rows,
                            LoadState* state);
  absl::Status DropStage(const db::CallContext& context, const LoadSpec& spec);

  // Cleans up after loads whose avesd died mid-load (a crash, a kill): jobs
  // still pending or processing whose load wrote nothing for `idle` are
  // failed ("abandoned"), and staging tables of loads no longer running are
  // dropped (each DROP waits at most a second for its lock, so a sweep never
  // queues in front of a running load). Safe with several avesd on one
  // database: a running load touches its row with every batch.
  struct SweepResult {
    int64_t jobs_abandoned = 0;
    int64_t stages_dropped = 0;
  };
  absl::StatusOr<SweepResult> SweepAbandoned(const db::CallContext& context,
                                             absl::Duration idle);

  // Ends the attempt: status completed, failed or cancelled, with `note`
  // (why) recorded in the job's metadata.
  absl::Status Finish(const db::CallContext& context, const LoadState& state,
                      const std::string& status, const std::string& note);

 private:
  db::Database& database_;
};

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_BULK_LOAD_STORE_H_
