#include "server/bulk/batch_committer.h"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <utility>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/bulk/bulk_sql.h"
#include "server/bulk/copy_rows.h"
#include "server/bulk/row_errors.h"
#include "server/common/json_writer.h"
#include "server/db/database.h"
#include "server/db/errors.h"
#include "server/db/transaction.h"
#include "server/store/job_status.h"
#include "server/store/job_store.h"

namespace aves::bulk {
namespace {

// Two batches of a load committing at once can wait on each other's rows (a
// key both insert) until PostgreSQL aborts one (40P01): such a batch is run
// again, up to this many times in all.
constexpr int kBatchAttempts = 4;

// PostgreSQL's first line, without "ERROR:  ".
std::string FirstLine(const std::string& message) {
  std::string line = message.substr(0, message.find('\n'));
  if (line.rfind("ERROR:  ", 0) == 0) line = line.substr(8);
  return line;
}

// Writes a batch's rows: COPY straight into the table (insert), or COPY into
// a temporary table and move them with ON CONFLICT (upsert) or RETURNING.
// Under a savepoint; on a row error the range is halved until the refused
// rows stand alone.
class BatchWriter {
 public:
  BatchWriter(pqxx::work& tx, const LoadSpec& spec)
      : tx_(tx), table_(spec.table), columns_(spec.columns) {
    if (spec.mode != LoadMode::kInsert) {
      tx_.exec(sql::CreateBatchTable(spec));
      returning_ = spec.mode == LoadMode::kReturning;
      move_sql_ = returning_ ? sql::InsertReturning(spec)
                             : sql::MoveRows(spec, sql::kBatchTable);
    }
  }

  // Returned rows (returning mode), in input order.
  std::vector<ReturnedRow>& returned() { return returned_; }

  void Write(const std::vector<CopyRow>& rows, size_t begin, size_t end,
             std::vector<RejectedRow>* refused, int64_t* inserted,
             int64_t* updated) {
    if (begin == end) return;
    const size_t returned_before = returned_.size();
    try {
      // A savepoint through libpqxx: a failed statement then aborts only
      // this subtransaction (raw SAVEPOINT SQL would leave libpqxx holding
      // an aborted outer transaction).
      pqxx::subtransaction sub(tx_, "aves_batch");
      int64_t batch_inserted = 0;
      int64_t batch_updated = 0;
      if (move_sql_.empty()) {
        CopyRows(sub, table_, columns_, rows, begin, end);
        batch_inserted = static_cast<int64_t>(end - begin);
      } else {
        sub.exec(std::string("TRUNCATE ") + sql::kBatchTable);
        CopyRows(sub, sql::kBatchTable, columns_, rows, begin, end);
        if (returning_) {
          const pqxx::result back = sub.exec(move_sql_);
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
          const pqxx::row counts = sub.exec1(move_sql_);
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
        refused->push_back({rows[begin].index, FirstLine(error.what())});
        return;
      }
    }
    const size_t middle = begin + (end - begin) / 2;
    Write(rows, begin, middle, refused, inserted, updated);
    Write(rows, middle, end, refused, inserted, updated);
  }

 private:
  pqxx::work& tx_;
  const std::string table_;
  const std::vector<std::string> columns_;
  std::string move_sql_;  // upsert and returning
  bool returning_ = false;
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
                                        const std::string& load_id,
                                        int64_t first_row, int64_t end_row) {
  std::vector<ReturnedRow> rows;
  for (const pqxx::row& field :
       work.exec_params(sql::kStoredReturned, load_id, first_row, end_row)) {
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

}  // namespace

absl::StatusOr<BatchResult> BatchCommitter::Commit(
    const common::CallContext& context, const LoadSpec& spec,
    const std::string& job_id, int64_t first_row, int64_t end_row,
    std::vector<CopyRow> rows, std::vector<RejectedRow> rejected,
    std::vector<ReturnedRow>* returned) {
  BatchResult result;
  bool raced = false;  // another writer committed some of these rows
  for (int attempt = 1;; ++attempt) {
    absl::Status status = database_.Run(
        context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
          pqxx::work work(connection);
          db::Transaction tx(work);
          result = BatchResult{};
          raced = false;
          // The part of this batch committed before (no lock: re-checked
          // under the row lock at the end).
          const std::string done_text =
              work.exec_params1(sql::kCommittedPart, spec.load_id, first_row,
                                end_row)[0]
                  .as<std::string>();
          const std::vector<RowRange> done = ParseRowRanges(done_text);
          // RETURNING: rows committed before get what they returned then (a
          // resumed loader that lost those answers).
          std::vector<ReturnedRow> returned_before;
          if (returned != nullptr && !done.empty()) {
            returned_before =
                StoredReturned(work, spec.load_id, first_row, end_row);
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
          std::vector<RejectedRow> errors;
          for (const RejectedRow& row : rejected)
            if (!InRanges(done, row.index)) errors.push_back(row);
          BatchWriter writer(work, spec);
          writer.Write(to_write, 0, to_write.size(), &errors,
                       &result.rows_inserted, &result.rows_updated);
          if (returned != nullptr && !writer.returned().empty()) {
            const std::vector<ReturnedRow>& fresh_back = writer.returned();
            work.exec_params(
                sql::kSaveReturned, spec.load_id, fresh_back.front().index,
                fresh_back.back().index + 1, ReturnedJson(fresh_back));
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
          const pqxx::result marked = work.exec_params(
              sql::kMarkCommitted, spec.load_id, first_row, end_row, done_text,
              result.rows_inserted, result.rows_updated, result.rows_failed);
          if (marked.empty()) {
            raced = true;  // rolled back; run again without those rows
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
    const bool retry = raced || absl::IsAborted(status);
    if (!retry || attempt == kBatchAttempts) {
      if (raced) {
        return absl::AbortedError(absl::StrCat(
            "load ", spec.load_id, ": rows ", first_row, "-", end_row - 1,
            " are being written by another stream of the same load"));
      }
      if (!status.ok()) return status;
      return result;
    }
  }
}

}  // namespace aves::bulk
