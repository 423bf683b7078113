#include "server/bulk/ledger.h"

#include <cmath>
#include <set>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <pqxx/pqxx>

#include "server/bulk/bulk_sql.h"
#include "server/bulk/stage.h"
#include "server/common/json_writer.h"
#include "server/common/status_macros.h"
#include "server/db/array_literal.h"
#include "server/db/database.h"
#include "server/db/sql_identifier.h"
#include "server/db/timed_exec.h"
#include "server/db/transaction.h"
#include "server/store/job_status.h"
#include "server/store/job_store.h"

namespace aves::bulk {
namespace {

constexpr char kJobType[] = "bulk_insert";

store::JobStatus JobStatusOf(LoadOutcome outcome) {
  switch (outcome) {
    case LoadOutcome::kCompleted:
      return store::JobStatus::kCompleted;
    case LoadOutcome::kFailed:
      return store::JobStatus::kFailed;
    case LoadOutcome::kCancelled:
      return store::JobStatus::kCancelled;
  }
  return store::JobStatus::kFailed;
}

}  // namespace

absl::StatusOr<LoadState> LoadLedger::Open(const common::CallContext& context,
                                           const LoadSpec& spec) {
  LoadState state;
  absl::Status refused;
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::work work(connection);
        db::Transaction tx(work, &database_.query_metrics());
        state = LoadState{};
        refused = absl::OkStatus();
        state.load_id = spec.load_id;
        const pqxx::result existing =
            db::ExecParams(database_.query_metrics(), work, sql::kOpenLoad,
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
          state.committed_above = ParseRowRanges(row[5].as<std::string>());
          state.earlier = {row[7].as<int64_t>(), row[8].as<int64_t>(),
                           row[9].as<int64_t>()};
          const std::string holder = row[3].as<std::string>();
          const std::optional<store::JobStatus> job_status =
              store::ParseJobStatus(row[4].as<std::string>());
          if (job_status == store::JobStatus::kCompleted) {
            state.job_id = holder;
            state.already_complete = true;
            return absl::OkStatus();
          }
          if (job_status.has_value() && !store::IsFinalJobStatus(*job_status)) {
            const double lease_left = row[6].as<double>();
            if (lease_left > 0) {
              refused = absl::AbortedError(absl::StrFormat(
                  "load %s is being written by another stream (job %s); "
                  "retry when it ends (its lease runs %.0f s more unless "
                  "renewed)",
                  spec.load_id, holder, std::ceil(lease_left)));
              return absl::OkStatus();
            }
            // Its stream's avesd stopped renewing the lease: take the load
            // over. Failing the old job fences that attempt off (a job that
            // ended meanwhile is refused here, and stays as it ended).
            store::JobProgress taken_over;
            taken_over.id = holder;
            taken_over.status = store::JobStatus::kFailed;
            taken_over.metadata_merge =
                common::JsonObject()
                    .Add("note",
                         "abandoned: its stream's lease lapsed; the load was "
                         "taken over by another stream")
                    .Add("committed_offset", state.committed_offset)
                    .Text();
            (void)store::JobStore::UpdateProgressIn(tx, taken_over);
          }
        }
        // A new attempt: a job of its own.
        store::NewJob job;
        job.job_type = kJobType;
        job.total_items = spec.total_rows;
        job.created_by = spec.created_by;
        job.metadata = common::JsonObject()
                           .Add("load_id", spec.load_id)
                           .Add("table", spec.table)
                           .Add("columns", spec.columns)
                           .Add("mode", LoadModeName(spec.mode))
                           .Add("resumed_at_offset", state.committed_offset)
                           .Text();
        absl::StatusOr<store::Job> created = store::JobStore::CreateIn(tx, job);
        if (!created.ok()) {
          refused = created.status();
          return absl::OkStatus();
        }
        state.job_id = created->id;
        // The attempt's job counts the whole load, so the job that completes
        // it says how many rows the load wrote, however many attempts it took.
        const LoadTotals& earlier = state.earlier;
        if (earlier.rows_inserted + earlier.rows_updated + earlier.rows_failed >
            0) {
          store::JobProgress carried;
          carried.id = state.job_id;
          carried.processed_items_delta =
              earlier.rows_inserted + earlier.rows_updated;
          carried.failed_items_delta = earlier.rows_failed;
          absl::Status counted =
              store::JobStore::UpdateProgressIn(tx, carried).status();
          if (!counted.ok()) {
            refused = counted;
            return absl::OkStatus();
          }
        }
        const double lease = absl::ToDoubleSeconds(lease_);
        if (!existing.empty()) {
          db::ExecParams(database_.query_metrics(), work, sql::kRecordAttempt,
                         spec.load_id, state.job_id, lease);
        } else if (db::ExecParams(database_.query_metrics(), work,
                                  sql::kCreateLoad, spec.load_id, state.job_id,
                                  spec.table,
                                  db::TextArrayLiteral(spec.columns),
                                  LoadModeName(spec.mode), lease)
                       .empty()) {
          // Another stream opened the same new load id an instant ago.
          refused = absl::AbortedError(absl::StrCat(
              "load ", spec.load_id,
              " is being written by another stream (it opened just now); "
              "retry when it ends"));
          return absl::OkStatus();  // rolled back: no job of ours remains
        }
        work.commit();
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (!refused.ok()) return refused;
  return state;
}

absl::Status LoadLedger::Finish(const common::CallContext& context,
                                const LoadState& state, LoadOutcome outcome,
                                const std::string& note) {
  store::JobProgress progress;
  progress.id = state.job_id;
  progress.status = JobStatusOf(outcome);
  progress.metadata_merge = common::JsonObject()
                                .Add("committed_offset", state.committed_offset)
                                .Add("note", note)
                                .Text();
  // In a transaction of the ledger's own: the bulk path may run on a pool
  // that did not prepare JobStore's statements (fixtures, tools).
  absl::Status finished;
  RETURN_IF_ERROR(database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::work work(connection);
        db::Transaction tx(work, &database_.query_metrics());
        finished = store::JobStore::UpdateProgressIn(tx, progress).status();
        if (!finished.ok()) return absl::OkStatus();
        db::ExecParams(database_.query_metrics(), work, sql::kReleaseLease,
                       state.load_id, state.job_id);
        work.commit();
        return absl::OkStatus();
      }));
  return finished;
}

absl::Status LoadLedger::RenewLeases(const common::CallContext& context,
                                     const std::vector<std::string>& job_ids) {
  if (job_ids.empty()) return absl::OkStatus();
  return database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);
        db::ExecParams(database_.query_metrics(), tx, sql::kRenewLeases,
                       db::TextArrayLiteral(job_ids),
                       absl::ToDoubleSeconds(lease_));
        return absl::OkStatus();
      });
}

absl::StatusOr<LoadLedger::SweepResult> LoadLedger::SweepAbandoned(
    const common::CallContext& context, absl::Duration idle) {
  SweepResult result;
  const std::string note = absl::StrFormat("abandoned: no batch for %.10g s",
                                           absl::ToDoubleSeconds(idle));
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        result = SweepResult{};
        std::vector<std::string> stages;
        std::set<std::string> running;
        {
          pqxx::work work(connection);
          db::Transaction tx(work, &database_.query_metrics());
          for (const pqxx::row& row : db::ExecParams(
                   database_.query_metrics(), work, sql::kAbandonedAttempts,
                   absl::ToDoubleSeconds(idle))) {
            store::JobProgress failed;
            failed.id = row[0].as<std::string>();
            failed.status = store::JobStatus::kFailed;
            failed.metadata_merge =
                common::JsonObject()
                    .Add("note", note)
                    .Add("committed_offset", row[1].as<int64_t>())
                    .Text();
            // A job that ended meanwhile is refused by the transition rule:
            // not abandoned after all.
            if (store::JobStore::UpdateProgressIn(tx, failed).ok()) {
              ++result.jobs_abandoned;
            }
          }
          result.returned_batches_deleted =
              db::ExecParams(database_.query_metrics(), work,
                             sql::kDeleteIdleReturned,
                             absl::ToDoubleSeconds(idle))
                  .affected_rows();
          // Stages first, running loads second: a stage is created after its
          // load opens, so any stage listed here whose load is running shows
          // up in the second query.
          for (const pqxx::row& row : db::ExecText(database_.query_metrics(),
                                                   work, sql::kListStages)) {
            stages.push_back(row[0].as<std::string>());
          }
          if (!stages.empty()) {
            for (const pqxx::row& row : db::ExecText(
                     database_.query_metrics(), work, sql::kRunningAttempts)) {
              running.insert(StageTable(row[0].as<std::string>()));
            }
          }
          work.commit();
        }  // one transaction object at a time on a connection
        for (const std::string& stage : stages) {
          if (running.count(stage) > 0) continue;
          try {
            pqxx::work drop(connection);
            drop.exec(AVES_SQL_NAME(
                "bulk_sweep_lock_timeout") "SET LOCAL lock_timeout = '1s'");
            db::ExecText(database_.query_metrics(), drop,
                         db::Named("bulk_drop_stage",
                                   "DROP TABLE IF EXISTS " +
                                       db::QuoteIdentifier(kStageSchema) + "." +
                                       db::QuoteIdentifier(stage)));
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

}  // namespace aves::bulk
