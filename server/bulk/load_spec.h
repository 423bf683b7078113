// The plain data of a bulk load, shared by every piece of server/bulk: what
// is loaded (LoadSpec, validated from the stream's header), the rows on
// their way (CopyRow, RejectedRow), what a batch did (BatchResult) and where
// a load stands (LoadState).
#ifndef AVES_SERVER_BULK_LOAD_SPEC_H_
#define AVES_SERVER_BULK_LOAD_SPEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace aves::bulk {

enum class LoadMode {
  kInsert,     // COPY straight into the table
  kUpsert,     // INSERT ... ON CONFLICT (conflict columns) DO UPDATE / NOTHING
  kReturning,  // INSERT ... RETURNING the asked-for columns, streamed back
};

// "insert", "upsert", "returning": bulk_loads.mode and the job's metadata.
const char* LoadModeName(LoadMode mode);

struct LoadSpec {
  std::string load_id;
  std::string table;                 // a catalog name (TableCatalog)
  std::vector<std::string> columns;  // catalog names, in row order
  LoadMode mode = LoadMode::kInsert;
  bool atomic = false;     // all or nothing: staged, published at the end
  int64_t total_rows = 0;  // 0: unknown
  int batch_rows = 5000;   // rows per committed batch
  // Per-batch loads: the most rows the whole load (every attempt) may
  // refuse; past it the load fails. Atomic loads: 0.
  int64_t max_errors = 1000;
  // upsert: ON CONFLICT (conflict_columns) DO UPDATE SET update_columns
  // (catalog names); no update columns: DO NOTHING.
  std::vector<std::string> conflict_columns;
  std::vector<std::string> update_columns;
  // returning: the columns to send back for each inserted row.
  std::vector<std::string> returning_columns;
  // Who runs the load (its jobs' created_by): set by avesd from the
  // authenticated caller, never from the header; nullopt without one.
  std::optional<std::string> created_by;
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

// The ranges of an int8multirange as PostgreSQL prints it:
// "{[0,100),[200,300)}" (canonical [first,end) ranges, ascending).
std::vector<RowRange> ParseRowRanges(const std::string& multirange);
bool InRanges(const std::vector<RowRange>& ranges, int64_t index);

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

// What one committed batch did.
struct BatchResult {
  int64_t rows_inserted = 0;
  int64_t rows_updated = 0;
  int64_t rows_failed = 0;
  int64_t committed_offset = 0;  // the load's prefix after this batch
  bool wrote = false;            // false: every row was committed before
};

// A load's counts of rows, over some of its attempts.
struct LoadTotals {
  int64_t rows_inserted = 0;
  int64_t rows_updated = 0;
  int64_t rows_failed = 0;
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
  LoadTotals earlier;             // the load's counts before this attempt

  // Whether row `index` was committed before this attempt opened.
  bool Committed(int64_t index) const;
  // Counts a batch of this attempt in.
  void Add(const BatchResult& batch);
};

// How an attempt ended: its job's final status.
enum class LoadOutcome { kCompleted, kFailed, kCancelled };

}  // namespace aves::bulk

#endif  // AVES_SERVER_BULK_LOAD_SPEC_H_
