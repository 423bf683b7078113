#include "server/bulk/batch_committer.h"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <utility>

#include <absl/status/status.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/bulk/bulk_sql.h"
#include "server/bulk/copy_rows.h"
#include "server/bulk/row_errors.h"
#include "server/common/field_error.h"
#include "server/common/json_writer.h"
#include "server/common/status_macros.h"
#include "server/db/database.h"
#include "server/db/errors.h"
#include "server/db/sql_identifier.h"
#include "server/db/timed_exec.h"
#include "server/db/transaction.h"
#include "server/store/job_status.h"
#include "server/store/job_store.h"

namespace aves::bulk {
namespace {

// Two batches of a load committing at once can wait on each other's rows (a
// key both insert) until PostgreSQL aborts one (40P01): such a batch is run
// again, up to this many times in all.
constexpr int kBatchAttempts = 4;

// A batch refused for a row's data is split in halves, each committed in a
// transaction of its own, down to this many rows; below it the refused rows
// are found under savepoints in one transaction. So one transaction runs at
// most ~1.25 times this many subtransactions whatever the batch size (an
// all-bad batch of 50,000 rows would otherwise run ~100,000 in one lease and
// outlast DB_QUERY_TIMEOUT).
constexpr size_t kIsolateInOneTransactionRows = 256;
// A refused range this small is retried row by row: halving an all-bad range
// costs 2n subtransactions, rows one by one n.
constexpr size_t kRowByRowRows = 8;

// Writes a batch's rows: COPY straight into the table (insert), or COPY into
// a temporary table and move them with ON CONFLICT (upsert) or RETURNING.
// Under a savepoint; on a row error a range of up to
// kIsolateInOneTransactionRows is narrowed down until the refused rows stand
// alone, a larger one asks for a split (split_needed()).
class BatchWriter {
 public:
  // `max_refused`: refusals (with those already in `refused` when Write is
  // called) past which the writer stops (over_budget()): the load is over
  // its max_errors, and the rest of the search would be wasted.
  BatchWriter(pqxx::work& tx, db::QueryMetrics& metrics, const LoadSpec& spec,
              int64_t max_refused)
      : tx_(tx),
        metrics_(metrics),
        table_(spec.table),
        columns_(spec.columns),
        max_refused_(max_refused) {
    if (spec.mode != LoadMode::kInsert) {
      db::ExecText(metrics_, tx_, sql::CreateBatchTable(spec));
      returning_ = spec.mode == LoadMode::kReturning;
      move_sql_ = returning_ ? sql::InsertReturning(spec)
                             : sql::MoveRows(spec, sql::kBatchTable);
    }
  }

  // Returned rows (returning mode), in input order.
  std::vector<ReturnedRow>& returned() { return returned_; }
  bool split_needed() const { return split_needed_; }
  bool over_budget() const { return over_budget_; }

  void Write(const std::vector<CopyRow>& rows, size_t begin, size_t end,
             std::vector<RejectedRow>* refused, int64_t* inserted,
             int64_t* updated) {
    if (begin == end || over_budget_ || split_needed_) return;
    const size_t returned_before = returned_.size();
    try {
      // A savepoint through libpqxx: a failed statement then aborts only
      // this subtransaction (raw SAVEPOINT SQL would leave libpqxx holding
      // an aborted outer transaction).
      pqxx::subtransaction sub(tx_, "aves_batch");
      int64_t batch_inserted = 0;
      int64_t batch_updated = 0;
      if (move_sql_.empty()) {
        Copy(sub, db::QuoteIdentifier(table_), rows, begin, end);
        batch_inserted = static_cast<int64_t>(end - begin);
      } else {
        db::ExecText(metrics_, sub,
                     db::Named("bulk_clear_batch_table",
                               std::string("TRUNCATE ") + sql::kBatchTable));
        Copy(sub, db::QuoteIdentifier(sql::kBatchTable), rows, begin, end);
        if (returning_) {
          const pqxx::result back = db::ExecText(metrics_, sub, move_sql_);
          // One row back per row in; a mismatch would misnumber them.
          if (back.size() != end - begin) {
            throw std::runtime_error("RETURNING gave a different row count");
          }
          for (size_t i = 0; i < back.size(); ++i) {
            ReturnedRow row;
            row.index = rows[begin + i].index;
            for (const pqxx::field& field : back[i]) {
              row.values.push_back(
                  field.is_null() ? std::nullopt
                                  : std::optional<std::string>(field.c_str()));
            }
            returned_.push_back(std::move(row));
          }
          batch_inserted = static_cast<int64_t>(back.size());
        } else {
          const pqxx::row counts = db::ExecText(metrics_, sub, move_sql_).at(0);
          batch_inserted = counts[0].as<int64_t>();
          batch_updated = counts[1].as<int64_t>();
        }
      }
      sub.commit();
      *inserted += batch_inserted;
      *updated += batch_updated;
      return;
    } catch (const pqxx::sql_error& error) {
      if (!IsRowErrorSqlState(error.sqlstate())) throw;
      returned_.resize(returned_before);
      if (end - begin == 1) {
        refused->push_back(
            {rows[begin].index, db::PrimaryMessage(error.what())});
        over_budget_ = static_cast<int64_t>(refused->size()) > max_refused_;
        return;
      }
      if (end - begin > kIsolateInOneTransactionRows) {
        split_needed_ = true;
        return;
      }
    }
    if (end - begin <= kRowByRowRows) {
      for (size_t i = begin; i < end; ++i)
        Write(rows, i, i + 1, refused, inserted, updated);
      return;
    }
    const size_t middle = begin + (end - begin) / 2;
    Write(rows, begin, middle, refused, inserted, updated);
    Write(rows, middle, end, refused, inserted, updated);
  }

 private:
  // COPY of rows [begin, end), timed as bulk_copy (libpqxx writes the COPY
  // statement itself, so it carries no name comment).
  void Copy(pqxx::transaction_base& tx, const std::string& table,
            const std::vector<CopyRow>& rows, size_t begin, size_t end) {
    db::Timed(&metrics_, "bulk_copy", [&] {
      CopyRows(tx, table, columns_, rows, begin, end);
      return pqxx::result();
    });
  }

  pqxx::work& tx_;
  db::QueryMetrics& metrics_;
  const std::string table_;
  const std::vector<std::string> columns_;
  const int64_t max_refused_;
  std::string move_sql_;  // upsert and returning
  bool returning_ = false;
  bool split_needed_ = false;
  bool over_budget_ = false;
  std::vector<ReturnedRow> returned_;
};

// A RETURNING batch's returned values as stored (kSaveReturned).
std::string ReturnedJson(const std::vector<ReturnedRow>& rows) {
  std::string json = "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) json += ',';
    absl::StrAppend(&json, "[", rows[i].index);
    for (const std::optional<std::string>& value : rows[i].values) {
      json += ',';
      if (value.has_value()) {
        common::AppendJsonString(*value, &json);
      } else {
        json += "null";
      }
    }
    json += ']';
  }
  json += ']';
  return json;
}

// What earlier batches returned for rows [first_row, end_row), in row order.
std::vector<ReturnedRow> StoredReturned(pqxx::work& work,
                                        db::QueryMetrics& metrics,
                                        const std::string& load_id,
                                        int64_t first_row, int64_t end_row) {
  std::vector<ReturnedRow> rows;
  for (const pqxx::row& field : db::ExecParams(
           metrics, work, sql::kStoredReturned, load_id, first_row, end_row)) {
    const int64_t index = field[0].as<int64_t>();
    if (rows.empty() || rows.back().index != index) rows.push_back({index, {}});
    rows.back().values.push_back(
        field[2].is_null() ? std::nullopt
                           : std::optional<std::string>(field[2].c_str()));
  }
  return rows;
}

std::vector<store::NewJobError> JobErrorsOf(
    const std::vector<RejectedRow>& rows) {
  std::vector<store::NewJobError> errors;
  errors.reserve(rows.size());
  for (const RejectedRow& row : rows) {
    store::NewJobError error;
    error.item_index = row.index;
    error.error_message = row.message;
    errors.push_back(std::move(error));
  }
  return errors;
}

// The load refused more rows than its max_errors: the batch is not
// written, and the call says why and where.
absl::Status OverMaxErrors(const LoadSpec& spec, int64_t refused_before,
                           int64_t first_row, int64_t end_row,
                           const std::vector<RejectedRow>& refused) {
  std::string first_refused;
  if (!refused.empty()) {
    const RejectedRow& first =
        *std::min_element(refused.begin(), refused.end(),
                          [](const RejectedRow& a, const RejectedRow& b) {
                            return a.index < b.index;
                          });
    // Rows refused before the database already say which row and column.
    const std::string row = absl::StrCat("row ", first.index);
    first_refused = absl::StrCat(
        "; the first refused there: ",
        absl::StartsWith(first.message, row) ? "" : row + ": ", first.message);
  }
  return common::InvalidField(
      "header.max_errors",
      absl::StrCat("load ", spec.load_id, " refused more rows than its ",
                   spec.max_errors, " allowed (", refused_before,
                   " before rows ", first_row, "-", end_row - 1, ", at least ",
                   refused.size(), " in them): those rows were not written",
                   first_refused,
                   ". Rows committed before stay; fix the rows, or resume "
                   "with the same load id and a larger max_errors"));
}

// Sums two consecutive parts of a batch.
BatchResult Merged(const BatchResult& a, const BatchResult& b) {
  BatchResult sum;
  sum.rows_inserted = a.rows_inserted + b.rows_inserted;
  sum.rows_updated = a.rows_updated + b.rows_updated;
  sum.rows_failed = a.rows_failed + b.rows_failed;
  sum.committed_offset = std::max(a.committed_offset, b.committed_offset);
  sum.wrote = a.wrote || b.wrote;
  return sum;
}

}  // namespace

absl::StatusOr<BatchResult> BatchCommitter::Commit(
    const common::CallContext& context, const LoadSpec& spec,
    const std::string& job_id, int64_t first_row, int64_t end_row,
    std::vector<CopyRow> rows, std::vector<RejectedRow> rejected,
    std::vector<ReturnedRow>* returned) {
  // How one transaction of the batch ended, when it did not fail.
  enum class Outcome {
    kCommitted,   // or every row was committed before
    kRaced,       // another writer committed some of these rows
    kSplit,       // too large to narrow down refused rows in one go
    kOverBudget,  // the load refused more rows than max_errors
  };
  BatchResult result;
  Outcome outcome = Outcome::kCommitted;
  int64_t refused_before = 0;  // the load's refusals before this batch
  std::vector<RejectedRow> errors;
  for (int attempt = 1;; ++attempt) {
    absl::Status status = database_.Run(
        context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
          pqxx::work work(connection);
          db::Transaction tx(work, &database_.query_metrics());
          result = BatchResult{};
          outcome = Outcome::kCommitted;
          // The part of this batch committed before (no lock: re-checked
          // under the row lock at the end).
          const pqxx::row before =
              db::ExecParams(database_.query_metrics(), work,
                             sql::kCommittedPart, spec.load_id, first_row,
                             end_row)
                  .at(0);
          const std::string done_text = before[0].as<std::string>();
          refused_before = before[1].as<int64_t>();
          const std::vector<RowRange> done = ParseRowRanges(done_text);
          // RETURNING: rows committed before get what they returned then (a
          // resumed loader that lost those answers).
          std::vector<ReturnedRow> returned_before;
          if (returned != nullptr && !done.empty()) {
            returned_before = StoredReturned(work, database_.query_metrics(),
                                             spec.load_id, first_row, end_row);
            *returned = returned_before;
          }
          if (done.size() == 1 && done[0] == RowRange{first_row, end_row})
            return absl::OkStatus();  // all of it committed before
          // Usually nothing is done yet: then the rows go as they are.
          std::vector<CopyRow> fresh;
          if (!done.empty()) {
            for (const CopyRow& row : rows)
              if (!InRanges(done, row.index)) fresh.push_back(row);
          }
          const std::vector<CopyRow>& to_write = done.empty() ? rows : fresh;
          errors.clear();
          for (const RejectedRow& row : rejected)
            if (!InRanges(done, row.index)) errors.push_back(row);
          const int64_t may_refuse = spec.max_errors - refused_before;
          if (static_cast<int64_t>(errors.size()) > may_refuse) {
            outcome = Outcome::kOverBudget;
            return absl::OkStatus();
          }
          BatchWriter writer(work, database_.query_metrics(), spec, may_refuse);
          writer.Write(to_write, 0, to_write.size(), &errors,
                       &result.rows_inserted, &result.rows_updated);
          if (writer.split_needed() || writer.over_budget()) {
            outcome =
                writer.split_needed() ? Outcome::kSplit : Outcome::kOverBudget;
            return absl::OkStatus();  // rolled back
          }
          if (returned != nullptr && !writer.returned().empty()) {
            const std::vector<ReturnedRow>& fresh_back = writer.returned();
            db::ExecParams(database_.query_metrics(), work, sql::kSaveReturned,
                           spec.load_id, fresh_back.front().index,
                           fresh_back.back().index + 1,
                           ReturnedJson(fresh_back));
            std::vector<ReturnedRow> all = std::move(returned_before);
            all.insert(all.end(), fresh_back.begin(), fresh_back.end());
            std::stable_sort(all.begin(), all.end(),
                             [](const ReturnedRow& a, const ReturnedRow& b) {
                               return a.index < b.index;
                             });
            *returned = std::move(all);
          }
          result.rows_failed = static_cast<int64_t>(errors.size());
          if (!errors.empty()) {
            absl::Status appended = store::JobStore::AppendErrorsIn(
                tx, job_id, JobErrorsOf(errors));
            if (!appended.ok()) return appended;
          }
          // Under the load's row lock (a concurrent batch waits here until
          // this one commits, then re-reads): still nothing else committed
          // in this range? Then the range joins the committed rows, and the
          // prefix moves on if the range closed a gap.
          const pqxx::result marked = db::ExecParams(
              database_.query_metrics(), work, sql::kMarkCommitted,
              spec.load_id, first_row, end_row, done_text, result.rows_inserted,
              result.rows_updated, result.rows_failed);
          if (marked.empty()) {
            outcome = Outcome::kRaced;  // rolled back; run again
            return absl::OkStatus();
          }
          // Exact under the lock, with batches committing beside this one.
          if (marked[0][1].as<int64_t>() > spec.max_errors) {
            refused_before = marked[0][1].as<int64_t>() - result.rows_failed;
            outcome = Outcome::kOverBudget;
            return absl::OkStatus();
          }
          // The job turns processing with its first batch.
          store::JobProgress progress;
          progress.id = job_id;
          progress.status = store::JobStatus::kProcessing;
          progress.processed_items_delta =
              result.rows_inserted + result.rows_updated;
          progress.failed_items_delta = result.rows_failed;
          absl::Status counted =
              store::JobStore::UpdateProgressIn(tx, progress).status();
          if (!counted.ok()) return counted;
          work.commit();
          result.committed_offset = marked[0][0].as<int64_t>();
          result.wrote = true;
          return absl::OkStatus();
        });
    if (db::SqlStateOf(status) == "42P10") return NoConflictTarget();
    if (!status.ok() && absl::IsAborted(status) && attempt < kBatchAttempts)
      continue;
    if (!status.ok()) return status;
    switch (outcome) {
      case Outcome::kCommitted:
        return result;
      case Outcome::kOverBudget:
        return OverMaxErrors(spec, refused_before, first_row, end_row, errors);
      case Outcome::kSplit:
        return CommitHalves(context, spec, job_id, first_row, end_row,
                            std::move(rows), std::move(rejected), returned);
      case Outcome::kRaced:
        if (attempt < kBatchAttempts) continue;
        return absl::AbortedError(absl::StrCat(
            "load ", spec.load_id, ": rows ", first_row, "-", end_row - 1,
            " are being written by another stream of the same load"));
    }
  }
}

absl::StatusOr<BatchResult> BatchCommitter::CommitHalves(
    const common::CallContext& context, const LoadSpec& spec,
    const std::string& job_id, int64_t first_row, int64_t end_row,
    std::vector<CopyRow> rows, std::vector<RejectedRow> rejected,
    std::vector<ReturnedRow>* returned) {
  const int64_t middle = first_row + (end_row - first_row) / 2;
  std::vector<CopyRow> second_rows;
  std::vector<RejectedRow> second_rejected;
  const auto rows_split = std::partition_point(
      rows.begin(), rows.end(),
      [middle](const CopyRow& row) { return row.index < middle; });
  second_rows.assign(std::make_move_iterator(rows_split),
                     std::make_move_iterator(rows.end()));
  rows.erase(rows_split, rows.end());
  for (RejectedRow& row : rejected) {
    if (row.index >= middle) second_rejected.push_back(std::move(row));
  }
  rejected.erase(std::remove_if(rejected.begin(), rejected.end(),
                                [middle](const RejectedRow& row) {
                                  return row.index >= middle;
                                }),
                 rejected.end());
  std::vector<ReturnedRow> second_returned;
  ASSIGN_OR_RETURN(BatchResult first,
                   Commit(context, spec, job_id, first_row, middle,
                          std::move(rows), std::move(rejected), returned));
  ASSIGN_OR_RETURN(BatchResult second,
                   Commit(context, spec, job_id, middle, end_row,
                          std::move(second_rows), std::move(second_rejected),
                          returned != nullptr ? &second_returned : nullptr));
  if (returned != nullptr) {
    returned->insert(returned->end(),
                     std::make_move_iterator(second_returned.begin()),
                     std::make_move_iterator(second_returned.end()));
  }
  return Merged(first, second);
}

}  // namespace aves::bulk
