#include "server/store/bulk_load_store.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include "server/common/field_error.h"
#include "server/db/array_literal.h"
#include "server/db/copy_text.h"
#include "server/db/errors.h"
#include "server/db/migration_file.h"
#include "server/store/queries.h"

namespace aves::store {
namespace {

// Rows PostgreSQL refuses for their data (class 21: ON CONFLICT meeting a
// key twice; 22: a bad value; 23: a constraint) are isolated; anything else (a
// lost connection, a cancel) fails the whole batch.
bool IsRowErrorState(const std::string& state) {
  return state.size() == 5 &&
         (state.rfind("21", 0) == 0 || state.rfind("22", 0) == 0 ||
          state.rfind("23", 0) == 0);
}
bool IsRowError(const pqxx::sql_error& error) {
  return IsRowErrorState(error.sqlstate());
}

// PostgreSQL's first line, without "ERROR:  ".
std::string FirstLine(const std::string& message) {
  std::string line = message.substr(0, message.find('\n'));
  if (line.rfind("ERROR:  ", 0) == 0) line = line.substr(8);
  return line;
}

// COPYs rows[begin, end) into `table` (quoted names). libpqxx 6.4's public
// raw-line COPY writer is the deprecated tablewriter (stream_to keeps its
// raw-line writer private); it puts the names into COPY as given.
void CopyRows(pqxx::transaction_base& tx, const std::string& table,
              const std::vector<std::string>& columns,
              const std::vector<CopyRow>& rows, size_t begin, size_t end) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pqxx::tablewriter copy(tx, table, columns.begin(), columns.end());
  for (size_t i = begin; i < end; ++i) copy.write_raw_line(rows[i].line);
  copy.complete();
#pragma GCC diagnostic pop
}

std::vector<std::string> QuotedColumns(const LoadSpec& spec) {
  std::vector<std::string> columns;
  for (const std::string& column : spec.columns)
    columns.push_back(db::QuoteIdentifier(column));
  return columns;
}

// ON CONFLICT names columns no unique index or constraint covers exactly.
absl::Status NoConflictTarget() {
  return common::InvalidField(
      "header.conflict_columns",
      "no unique index or constraint is on exactly these columns");
}

std::string JoinQuoted(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) {
    if (!joined.empty()) joined += ", ";
    joined += db::QuoteIdentifier(name);
  }
  return joined;
}

// INSERT INTO target (cols) SELECT cols FROM `source` [ON CONFLICT ...],
// counting inserted and updated rows (xmax = 0 marks a fresh row).
std::string MoveRowsSql(const LoadSpec& spec, const std::string& source) {
  const std::string columns = JoinQuoted(spec.columns);
  std::string sql = "WITH moved AS (INSERT INTO " +
                    db::QuoteIdentifier(spec.table) + " (" + columns +
                    ") SELECT " + columns + " FROM " + source;
  if (spec.mode == "upsert") {
    sql += " ON CONFLICT (" + JoinQuoted(spec.conflict_columns) + ") DO ";
    if (spec.update_columns.empty()) {
      sql += "NOTHING";
    } else {
      sql += "UPDATE SET ";
      for (size_t i = 0; i < spec.update_columns.size(); ++i) {
        const std::string column = db::QuoteIdentifier(spec.update_columns[i]);
        sql += (i ? ", " : "") + column + " = EXCLUDED." + column;
      }
    }
  }
  return sql +
         " RETURNING xmax = 0 AS fresh) SELECT count(*) FILTER (WHERE fresh), "
         "count(*) FILTER (WHERE NOT fresh) FROM moved";
}

// An int8multirange as PostgreSQL prints it: "{[0,100),[200,300)}" (always
// canonical [first,end) ranges, ascending).
std::vector<RowRange> ParseRanges(const std::string& text) {
  std::vector<RowRange> ranges;
  size_t at = 0;
  while ((at = text.find('[', at)) != std::string::npos) {
    const size_t comma = text.find(',', at);
    const size_t close = text.find(')', comma);
    ranges.push_back({std::stoll(text.substr(at + 1, comma - at - 1)),
                      std::stoll(text.substr(comma + 1, close - comma - 1))});
    at = close;
  }
  return ranges;
}

bool InRanges(const std::vector<RowRange>& ranges, int64_t index) {
  for (const RowRange& range : ranges)
    if (index >= range.first && index < range.end) return true;
  return false;
}

// Two batches of a load committing at once can wait on each other's rows (a
// key both insert) until PostgreSQL aborts one (40P01): such a batch is run
// again, up to this many times in all.
constexpr int kBatchAttempts = 4;

constexpr char kUpsertTemp[] = "aves_upsert_rows";

// A load's job is pending from the header until its first batch commits (or
// stages), processing from then on.
constexpr char kJobProcessing[] =
    "UPDATE batch_jobs SET status = CASE WHEN status = 'pending' THEN "
    "'processing' ELSE status END, started_at = coalesce(started_at, now())";

// INSERT INTO target (cols) SELECT cols FROM the temporary table, in the
// order the rows arrived, RETURNING the asked-for columns. No parameters at
// all, so PostgreSQL's 65,535-parameter limit never applies, whatever the
// rows x columns of a batch.
std::string ReturningSql(const LoadSpec& spec) {
  const std::string columns = JoinQuoted(spec.columns);
  return "INSERT INTO " + db::QuoteIdentifier(spec.table) + " (" + columns +
         ") SELECT " + columns + " FROM " + kUpsertTemp +
         " ORDER BY ctid RETURNING " + JoinQuoted(spec.returning_columns);
}

// Writes a batch's rows: COPY straight into the table (insert), or COPY into
// a temporary table and move them with ON CONFLICT (upsert) or RETURNING.
// Under a savepoint; on a row error the range is halved until the refused
// rows stand alone.
class BatchWriter {
 public:
  BatchWriter(pqxx::work& tx, const LoadSpec& spec)
      : tx_(tx),
        table_(db::QuoteIdentifier(spec.table)),
        columns_(QuotedColumns(spec)) {
    if (spec.mode == "upsert" || spec.mode == "returning") {
      // Only the given columns, no constraints (LIKE would copy NOT NULL of
      // columns the load leaves to their defaults): the target checks rows.
      tx_.exec(std::string("CREATE TEMP TABLE ") + kUpsertTemp +
               " ON COMMIT DROP AS SELECT " + JoinQuoted(spec.columns) +
               " FROM " + table_ + " WITH NO DATA");
      returning_ = spec.mode == "returning";
      move_sql_ =
          returning_ ? ReturningSql(spec) : MoveRowsSql(spec, kUpsertTemp);
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
        sub.exec(std::string("TRUNCATE ") + kUpsertTemp);
        CopyRows(sub, kUpsertTemp, columns_, rows, begin, end);
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
      if (!IsRowError(error)) throw;
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
  std::string table_;
  std::vector<std::string> columns_;
  std::string move_sql_;  // upsert and returning
  bool returning_ = false;
  std::vector<ReturnedRow> returned_;
};

}  // namespace

bool LoadState::Committed(int64_t index) const {
  return index < committed_offset || InRanges(committed_above, index);
}

void LoadState::Add(const BatchResult& batch) {
  rows_inserted += batch.rows_inserted;
  rows_updated += batch.rows_updated;
  rows_failed += batch.rows_failed;
  committed_offset = std::max(committed_offset, batch.committed_offset);
  if (batch.wrote) ++batches_committed;
}

absl::StatusOr<LoadState> BulkLoadStore::Open(const db::CallContext& context,
                                              const LoadSpec& spec) {
  LoadState state;
  absl::Status refused;
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection& connection) {
        pqxx::work tx(connection);
        state = LoadState{};
        state.load_id = spec.load_id;
        pqxx::result existing = tx.exec_params(
            "SELECT l.table_name, l.columns = $2::text[], l.committed_offset, "
            "l.job_id::text, j.status, (l.committed_rows - "
            "int8multirange(int8range(0, l.committed_offset)))::text FROM "
            "bulk_loads l JOIN batch_jobs j ON "
            "j.id = l.job_id WHERE l.load_id = $1 FOR UPDATE OF l",
            spec.load_id, db::TextArrayLiteral(spec.columns));
        if (!existing.empty()) {
          const pqxx::row row = existing[0];
          if (row[0].as<std::string>() != spec.table || !row[1].as<bool>()) {
            refused = absl::FailedPreconditionError(
                absl::StrCat("load ", spec.load_id, " writes table ",
                             row[0].as<std::string>(),
                             " with other columns; use a new load id"));
            return absl::OkStatus();
          }
          state.committed_offset = row[2].as<int64_t>();
          state.committed_above = ParseRanges(row[5].as<std::string>());
          const std::string job_status = row[4].as<std::string>();
          if (job_status == "completed") {
            state.job_id = row[3].as<std::string>();
            state.already_complete = true;
            return absl::OkStatus();
          }
          if (job_status == "processing" || job_status == "pending") {
            // The previous attempt died without ending its job: carry on
            // under it (each batch re-checks the offset under a row lock).
            state.job_id = row[3].as<std::string>();
            tx.commit();
            return absl::OkStatus();
          }
        }
        // A new attempt: a job of its own.
        state.job_id =
            tx.exec_params(
                  "INSERT INTO batch_jobs (job_type, status, total_items, "
                  "metadata) VALUES ('bulk_insert', 'pending', "
                  "$1, json_build_object('load_id', $2::text, 'table', "
                  "$3::text, 'columns', $4::text[], 'mode', $5::text, "
                  "'resumed_at_offset', $6::int8)) RETURNING id::text",
                  spec.total_rows, spec.load_id, spec.table,
                  db::TextArrayLiteral(spec.columns), spec.mode,
                  state.committed_offset)[0][0]
                .as<std::string>();
        tx.exec_params(
            "INSERT INTO bulk_loads (load_id, job_id, table_name, columns, "
            "mode) VALUES ($1, $2, $3, $4::text[], $5) ON CONFLICT (load_id) "
            "DO UPDATE SET job_id = EXCLUDED.job_id, updated_at = now()",
            spec.load_id, state.job_id, spec.table,
            db::TextArrayLiteral(spec.columns), spec.mode);
        tx.commit();
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (!refused.ok()) return refused;
  return state;
}

absl::StatusOr<BatchResult> BulkLoadStore::CommitBatch(
    const db::CallContext& context, const LoadSpec& spec,
    const std::string& job_id, int64_t first_row, int64_t end_row,
    std::vector<CopyRow> rows, std::vector<RejectedRow> rejected,
    std::vector<ReturnedRow>* returned) {
  BatchResult result;
  bool raced = false;  // another writer committed some of these rows
  for (int attempt = 1;; ++attempt) {
    absl::Status status = database_.Run(
        context, db::Access::kWrite, [&](pqxx::connection& connection) {
          pqxx::work tx(connection);
          result = BatchResult{};
          raced = false;
          // The part of this batch committed before (no lock: re-checked
          // under the row lock at the end).
          const std::string done_text =
              tx.exec_params1(
                    "SELECT (committed_rows * int8multirange(int8range($2, "
                    "$3)))::text FROM bulk_loads WHERE load_id = $1",
                    spec.load_id, first_row, end_row)[0]
                  .as<std::string>();
          const std::vector<RowRange> done = ParseRanges(done_text);
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
          BatchWriter writer(tx, spec);
          writer.Write(to_write, 0, to_write.size(), &errors,
                       &result.rows_inserted, &result.rows_updated);
          if (returned != nullptr) *returned = std::move(writer.returned());
          result.rows_failed = static_cast<int64_t>(errors.size());
          if (!errors.empty()) {
            std::vector<std::optional<std::string>> indexes, ids, messages;
            for (const RejectedRow& error : errors) {
              indexes.push_back(std::to_string(error.index));
              ids.push_back(std::nullopt);
              messages.push_back(error.message);
            }
            tx.exec_params(kAppendJobErrors.sql, job_id,
                           db::ArrayLiteral(indexes), db::ArrayLiteral(ids),
                           db::ArrayLiteral(messages));
          }
          // Under the load's row lock (a concurrent batch waits here until
          // this one commits, then re-reads): still nothing else committed
          // in this range? Then the range joins the committed rows, and the
          // prefix moves on if the range closed a gap.
          const pqxx::result marked = tx.exec_params(
              "UPDATE bulk_loads SET committed_rows = committed_rows + "
              "int8multirange(int8range($2, $3)), committed_offset = "
              "coalesce((SELECT upper(r) FROM unnest(committed_rows + "
              "int8multirange(int8range($2, $3))) AS r WHERE lower(r) = 0), "
              "0), updated_at = now() WHERE load_id = $1 AND (committed_rows "
              "* int8multirange(int8range($2, $3)))::text = $4 RETURNING "
              "committed_offset",
              spec.load_id, first_row, end_row, done_text);
          if (marked.empty()) {
            raced = true;  // rolled back; run again without those rows
            return absl::OkStatus();
          }
          tx.exec_params(std::string(kJobProcessing) +
                             ", processed_items = processed_items + $2, "
                             "failed_items = failed_items + $3 WHERE id = $1",
                         job_id, result.rows_inserted + result.rows_updated,
                         result.rows_failed);
          tx.commit();
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

std::string BulkLoadStore::StageTable(const std::string& load_id) {
  // A name of our own making (never the request's text): safe as an
  // identifier, and the same for the same load.
  return "aves_stage_" + db::Sha256Hex(load_id).substr(0, 24);
}

absl::Status BulkLoadStore::CreateStage(const db::CallContext& context,
                                        const LoadSpec& spec) {
  const std::string columns = JoinQuoted(spec.columns);
  return database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection& connection) {
        pqxx::nontransaction tx(connection);
        const std::string stage = db::QuoteIdentifier(StageTable(spec.load_id));
        tx.exec("DROP TABLE IF EXISTS " + stage);
        tx.exec("CREATE UNLOGGED TABLE " + stage + " AS SELECT " + columns +
                " FROM " + db::QuoteIdentifier(spec.table) + " WITH NO DATA");
        // The row's number in the load, so an upsert's later duplicate
        // wins at publish however the batches interleaved.
        tx.exec("ALTER TABLE " + stage + " ADD COLUMN aves_row bigint");
        return absl::OkStatus();
      });
}

absl::Status BulkLoadStore::StageRows(const db::CallContext& context,
                                      const LoadSpec& spec,
                                      const std::string& job_id,
                                      const std::vector<CopyRow>& rows) {
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection& connection) {
        pqxx::work tx(connection);
        std::vector<std::string> columns = QuotedColumns(spec);
        columns.push_back("aves_row");
        std::vector<CopyRow> numbered;
        numbered.reserve(rows.size());
        for (const CopyRow& row : rows) {
          numbered.push_back(
              {row.index, absl::StrCat(row.line, "\t", row.index)});
        }
        CopyRows(tx, db::QuoteIdentifier(StageTable(spec.load_id)), columns,
                 numbered, 0, numbered.size());
        // A sign of life for the sweep of abandoned stages.
        tx.exec_params(
            "UPDATE bulk_loads SET updated_at = now() WHERE load_id = $1",
            spec.load_id);
        tx.exec_params(std::string(kJobProcessing) + " WHERE id = $1", job_id);
        tx.commit();
        return absl::OkStatus();
      });
  return status;
}

absl::Status BulkLoadStore::PublishStage(const db::CallContext& context,
                                         const LoadSpec& spec, int64_t rows,
                                         LoadState* state) {
  int64_t inserted = 0;
  int64_t updated = 0;
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection& connection) {
        pqxx::work tx(connection);
        const std::string stage = db::QuoteIdentifier(StageTable(spec.load_id));
        // One statement cannot meet a key twice under ON CONFLICT: an
        // upsert keeps each key's last row, as a per-batch load would.
        const std::string source =
            spec.mode == "upsert"
                ? "(SELECT DISTINCT ON (" + JoinQuoted(spec.conflict_columns) +
                      ") * FROM " + stage + " ORDER BY " +
                      JoinQuoted(spec.conflict_columns) +
                      ", aves_row DESC) AS last_rows"
                : stage;
        const pqxx::row counts = tx.exec1(MoveRowsSql(spec, source));
        inserted = counts[0].as<int64_t>();
        updated = counts[1].as<int64_t>();
        tx.exec_params(
            "UPDATE bulk_loads SET committed_offset = $2, committed_rows = "
            "int8multirange(int8range(0, $2)), updated_at = now() WHERE "
            "load_id = $1",
            spec.load_id, rows);
        tx.exec_params(
            "UPDATE batch_jobs SET processed_items = $2 WHERE id = $1",
            state->job_id, inserted + updated);
        tx.exec("DROP TABLE " + stage);
        tx.commit();
        return absl::OkStatus();
      });
  if (db::SqlStateOf(status) == "42P10") return NoConflictTarget();
  if (!status.ok()) {
    // A row the target refuses (a key, a constraint, a value): the caller's
    // data, and all of the load is refused.
    const std::optional<std::string> sqlstate = db::SqlStateOf(status);
    if (sqlstate && IsRowErrorState(*sqlstate)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the atomic load was refused, nothing was written: ",
                       status.message()));
    }
    return status;
  }
  state->committed_offset = rows;
  state->rows_inserted = inserted;
  state->rows_updated = updated;
  ++state->batches_committed;
  return absl::OkStatus();
}

absl::Status BulkLoadStore::DropStage(const db::CallContext& context,
                                      const LoadSpec& spec) {
  return database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection& connection) {
        pqxx::nontransaction(connection)
            .exec("DROP TABLE IF EXISTS " +
                  db::QuoteIdentifier(StageTable(spec.load_id)));
        return absl::OkStatus();
      });
}

absl::StatusOr<BulkLoadStore::SweepResult> BulkLoadStore::SweepAbandoned(
    const db::CallContext& context, absl::Duration idle) {
  SweepResult result;
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection& connection) {
        result = SweepResult{};
        std::vector<std::string> stages;
        std::set<std::string> running;
        {
          pqxx::nontransaction tx(connection);
          result.jobs_abandoned =
              tx.exec_params(
                    "UPDATE batch_jobs j SET status = 'failed', completed_at = "
                    "now(), metadata = j.metadata || "
                    "jsonb_build_object('note', "
                    "'abandoned: no batch for ' || $1::text || ' s', "
                    "'committed_offset', l.committed_offset) FROM bulk_loads l "
                    "WHERE l.job_id = j.id AND j.status IN ('pending', "
                    "'processing') AND l.updated_at < now() - "
                    "make_interval(secs => $1::float8)",
                    absl::ToDoubleSeconds(idle))
                  .affected_rows();
          // Stages first, running loads second: a stage is created after its
          // load opens, so any stage listed here whose load is running shows
          // up in the second query.
          for (const pqxx::row& row :
               tx.exec("SELECT relname FROM pg_class WHERE relkind = 'r' AND "
                       "relnamespace = current_schema()::regnamespace AND "
                       "relname LIKE 'aves\\_stage\\_%'")) {
            stages.push_back(row[0].as<std::string>());
          }
          if (stages.empty()) return absl::OkStatus();
          for (const pqxx::row& row : tx.exec(
                   "SELECT l.load_id FROM bulk_loads l JOIN batch_jobs j ON "
                   "j.id = l.job_id WHERE j.status IN ('pending', "
                   "'processing')")) {
            running.insert(StageTable(row[0].as<std::string>()));
          }
        }  // one transaction object at a time on a connection
        for (const std::string& stage : stages) {
          if (running.count(stage) > 0) continue;
          try {
            pqxx::work drop(connection);
            drop.exec("SET LOCAL lock_timeout = '1s'");
            drop.exec("DROP TABLE IF EXISTS " + db::QuoteIdentifier(stage));
            drop.commit();
            ++result.stages_dropped;
          } catch (const pqxx::sql_error&) {
            // Busy (a publish reading it): the next sweep tries again.
          }
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return result;
}

absl::Status BulkLoadStore::Finish(const db::CallContext& context,
                                   const LoadState& state,
                                   const std::string& status,
                                   const std::string& note) {
  return database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection& connection) {
        pqxx::nontransaction tx(connection);
        tx.exec_params(
            "UPDATE batch_jobs SET status = $2, completed_at = now(), "
            "metadata = metadata || jsonb_build_object('committed_offset', "
            "$3::int8, 'note', $4::text) WHERE id = $1 AND status IN "
            "('pending', 'processing')",
            state.job_id, status, state.committed_offset, note);
        return absl::OkStatus();
      });
}

}  // namespace aves::store
