#include "server/bulk/stage.h"

#include <optional>

#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/bulk/bulk_sql.h"
#include "server/bulk/copy_rows.h"
#include "server/bulk/row_errors.h"
#include "server/common/crypto.h"
#include "server/db/database.h"
#include "server/db/errors.h"
#include "server/db/sql_identifier.h"
#include "server/db/timed_exec.h"
#include "server/db/transaction.h"
#include "server/store/job_status.h"
#include "server/store/job_store.h"

namespace aves::bulk {

std::string StageTable(const std::string& job_id) {
  return "aves_stage_" + common::Sha256Hex(job_id).substr(0, 24);
}

std::string QualifiedStageTable(const std::string& job_id) {
  return db::QuoteIdentifier(kStageSchema) + "." +
         db::QuoteIdentifier(StageTable(job_id));
}

absl::Status Stages::Create(const common::CallContext& context,
                            const LoadSpec& spec, const std::string& job_id) {
  return database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);
        db::QueryMetrics& metrics = database_.query_metrics();
        const std::string stage = QualifiedStageTable(job_id);
        db::ExecText(
            metrics, tx,  // a retried Create
            db::Named("bulk_drop_stage", "DROP TABLE IF EXISTS " + stage));
        db::ExecText(metrics, tx, sql::CreateStage(spec, stage));
        // The row's number in the load, so an upsert's later duplicate
        // wins at publish however the batches interleaved.
        db::ExecText(
            metrics, tx,
            db::Named("bulk_add_row_number",
                      "ALTER TABLE " + stage + " ADD COLUMN aves_row bigint"));
        return absl::OkStatus();
      });
}

absl::Status Stages::Add(const common::CallContext& context,
                         const LoadSpec& spec, const std::string& job_id,
                         const std::vector<CopyRow>& rows) {
  std::vector<std::string> columns = spec.columns;
  columns.push_back("aves_row");
  std::vector<CopyRow> numbered;
  numbered.reserve(rows.size());
  for (const CopyRow& row : rows) {
    numbered.push_back({row.index, absl::StrCat(row.line, "\t", row.index)});
  }
  return database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::work work(connection);
        db::Transaction tx(work, &database_.query_metrics());
        db::Timed(&database_.query_metrics(), "bulk_copy", [&] {
          CopyRows(work, QualifiedStageTable(job_id), columns, numbered, 0,
                   numbered.size());
          return pqxx::result();
        });
        db::ExecParams(database_.query_metrics(), work, sql::kTouchLoad,
                       spec.load_id);
        store::JobProgress processing;
        processing.id = job_id;
        processing.status = store::JobStatus::kProcessing;
        absl::Status job =
            store::JobStore::UpdateProgressIn(tx, processing).status();
        if (job.ok()) work.commit();
        return job;
      });
}

namespace {

// What the stage publishes: the rows, or for an upsert each key's last row.
std::string PublishSource(const LoadSpec& spec, const std::string& stage) {
  return spec.mode == LoadMode::kUpsert ? sql::LastRowPerKey(spec, stage)
                                        : stage;
}

// The first row of the stage the target refuses, given the rows before it,
// with PostgreSQL's primary message: rows [first, end) are published under
// a savepoint, and a refused range is halved (a published half stays, so a
// later row meets the earlier ones as at the real publish). At most ~2x the
// publish's work; `tx` is rolled back afterwards.
std::optional<RejectedRow> FirstRefused(pqxx::work& tx,
                                        const std::string& move_part,
                                        int64_t first, int64_t end) {
  if (first >= end) return std::nullopt;
  try {
    pqxx::subtransaction sub(tx, "aves_publish_search");
    // libpqxx 6.4 sends a subtransaction's SAVEPOINT with its first exec(),
    // not with exec_params(): without this the refusal would abort `tx`.
    sub.exec(AVES_SQL_NAME("bulk_savepoint") "SELECT 1");
    sub.exec_params(move_part, first, end);
    sub.commit();
    return std::nullopt;
  } catch (const pqxx::sql_error& error) {
    if (!IsRowErrorSqlState(error.sqlstate())) throw;
    if (end - first == 1) {
      return RejectedRow{first, db::PrimaryMessage(error.what())};
    }
  }
  const int64_t middle = first + (end - first) / 2;
  std::optional<RejectedRow> refused =
      FirstRefused(tx, move_part, first, middle);
  if (refused.has_value()) return refused;
  return FirstRefused(tx, move_part, middle, end);
}

// The columns a refusal names: the column of a NOT NULL violation, else the
// columns of the constraint or unique index quoted in PostgreSQL's message.
std::string RefusedColumns(pqxx::work& tx, const LoadSpec& spec,
                           const std::string& message) {
  const auto quoted_after =
      [&](const std::string& marker) -> std::optional<std::string> {
    const size_t at = message.find(marker);
    if (at == std::string::npos) return std::nullopt;
    const size_t open = at + marker.size();
    const size_t close = message.find('"', open);
    if (close == std::string::npos) return std::nullopt;
    return message.substr(open, close - open);
  };
  if (std::optional<std::string> column = quoted_after("in column \"")) {
    return *column;
  }
  std::optional<std::string> constraint = quoted_after("constraint \"");
  if (!constraint.has_value()) return "";
  const pqxx::result columns = tx.exec_params(
      sql::kConstraintColumns, db::QuoteIdentifier(spec.table), *constraint);
  return columns.empty() || columns[0][0].is_null()
             ? ""
             : columns[0][0].as<std::string>();
}

}  // namespace

absl::Status Stages::Publish(const common::CallContext& context,
                             const LoadSpec& spec, int64_t rows,
                             LoadState* state) {
  int64_t inserted = 0;
  int64_t updated = 0;
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::work work(connection);
        db::Transaction tx(work, &database_.query_metrics());
        const std::string stage = QualifiedStageTable(state->job_id);
        db::QueryMetrics& metrics = database_.query_metrics();
        const pqxx::result moved = db::ExecText(
            metrics, work, sql::MoveRows(spec, PublishSource(spec, stage)));
        const pqxx::row counts = moved.at(0);
        inserted = counts[0].as<int64_t>();
        updated = counts[1].as<int64_t>();
        db::ExecParams(metrics, work, sql::kPublishOffset, spec.load_id, rows,
                       inserted, updated);
        store::JobProgress published;
        published.id = state->job_id;
        published.processed_items_delta = inserted + updated;
        absl::Status job =
            store::JobStore::UpdateProgressIn(tx, published).status();
        if (!job.ok()) return job;
        db::ExecText(metrics, work,
                     db::Named("bulk_drop_stage", "DROP TABLE " + stage));
        work.commit();
        return absl::OkStatus();
      });
  if (db::SqlStateOf(status) == "42P10") return NoConflictTarget();
  if (!status.ok()) {
    // A row the target refuses (a key, a constraint, a value): the caller's
    // data, and all of the load is refused.
    const std::optional<std::string> sqlstate = db::SqlStateOf(status);
    if (sqlstate && IsRowErrorSqlState(*sqlstate)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the atomic load was refused, nothing was written: ",
                       RefusedRow(context, spec, state->job_id, rows, status)));
    }
    return status;
  }
  state->committed_offset = rows;
  state->rows_inserted = inserted;
  state->rows_updated = updated;
  ++state->batches_committed;
  return absl::OkStatus();
}

std::string Stages::RefusedRow(const common::CallContext& context,
                               const LoadSpec& spec, const std::string& job_id,
                               int64_t rows, const absl::Status& refusal) {
  std::string described(refusal.message());
  // Best effort: without it the caller still hears PostgreSQL's reason.
  (void)database_.Run(
      context, db::Access::kRead, [&](pqxx::connection_base& connection) {
        pqxx::work work(connection);  // rolled back: a search, not a publish
        const std::string stage = QualifiedStageTable(job_id);
        const std::optional<RejectedRow> refused = FirstRefused(
            work,
            sql::MoveRows(spec, sql::RowsBetween(PublishSource(spec, stage))),
            0, rows);
        if (!refused.has_value()) return absl::OkStatus();
        const std::string columns =
            RefusedColumns(work, spec, refused->message);
        described = absl::StrCat("row ", refused->index,
                                 columns.empty() ? "" : ", column ", columns,
                                 ": ", refused->message);
        return absl::OkStatus();
      });
  return described;
}

absl::Status Stages::Drop(const common::CallContext& context,
                          const std::string& job_id) {
  return database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);
        db::ExecText(
            database_.query_metrics(), tx,
            db::Named("bulk_drop_stage",
                      "DROP TABLE IF EXISTS " + QualifiedStageTable(job_id)));
        return absl::OkStatus();
      });
}

}  // namespace aves::bulk
