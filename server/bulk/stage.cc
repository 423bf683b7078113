#include "server/bulk/stage.h"

#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/bulk/bulk_sql.h"
#include "server/bulk/copy_rows.h"
#include "server/bulk/row_errors.h"
#include "server/common/crypto.h"
#include "server/db/database.h"
#include "server/db/errors.h"
#include "server/db/sql_identifier.h"
#include "server/db/transaction.h"
#include "server/store/job_status.h"
#include "server/store/job_store.h"

namespace aves::bulk {

std::string StageTable(const std::string& job_id) {
  return "aves_stage_" + common::Sha256Hex(job_id).substr(0, 24);
}

absl::Status Stages::Create(const common::CallContext& context,
                            const LoadSpec& spec, const std::string& job_id) {
  return database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);
        const std::string stage = db::QuoteIdentifier(StageTable(job_id));
        tx.exec("DROP TABLE IF EXISTS " + stage);  // a retried Create
        tx.exec(sql::CreateStage(spec, stage));
        // The row's number in the load, so an upsert's later duplicate
        // wins at publish however the batches interleaved.
        tx.exec("ALTER TABLE " + stage + " ADD COLUMN aves_row bigint");
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
        db::Transaction tx(work);
        CopyRows(work, StageTable(job_id), columns, numbered, 0,
                 numbered.size());
        work.exec_params(sql::kTouchLoad, spec.load_id);
        store::JobProgress processing;
        processing.id = job_id;
        processing.status = store::JobStatus::kProcessing;
        absl::Status job =
            store::JobStore::UpdateProgressIn(tx, processing).status();
        if (job.ok()) work.commit();
        return job;
      });
}

absl::Status Stages::Publish(const common::CallContext& context,
                             const LoadSpec& spec, int64_t rows,
                             LoadState* state) {
  int64_t inserted = 0;
  int64_t updated = 0;
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::work work(connection);
        db::Transaction tx(work);
        const std::string stage =
            db::QuoteIdentifier(StageTable(state->job_id));
        const std::string source = spec.mode == LoadMode::kUpsert
                                       ? sql::LastRowPerKey(spec, stage)
                                       : stage;
        const pqxx::row counts = work.exec1(sql::MoveRows(spec, source));
        inserted = counts[0].as<int64_t>();
        updated = counts[1].as<int64_t>();
        work.exec_params(sql::kPublishOffset, spec.load_id, rows, inserted,
                         updated);
        store::JobProgress published;
        published.id = state->job_id;
        published.processed_items_delta = inserted + updated;
        absl::Status job =
            store::JobStore::UpdateProgressIn(tx, published).status();
        if (!job.ok()) return job;
        work.exec("DROP TABLE " + stage);
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

absl::Status Stages::Drop(const common::CallContext& context,
                          const std::string& job_id) {
  return database_.Run(context, db::Access::kWrite,
                       [&](pqxx::connection_base& connection) {
                         pqxx::nontransaction(connection)
                             .exec("DROP TABLE IF EXISTS " +
                                   db::QuoteIdentifier(StageTable(job_id)));
                         return absl::OkStatus();
                       });
}

}  // namespace aves::bulk
