#include "server/store/job_store.h"

#include <limits>
#include <stdexcept>
#include <tuple>
#include <utility>

#include <absl/status/status.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/common/field_error.h"
#include "server/common/status_macros.h"
#include "server/db/array_literal.h"
#include "server/db/database.h"
#include "server/db/errors.h"
#include "server/db/listener.h"
#include "server/db/statement_name.h"
#include "server/db/timed_exec.h"
#include "server/db/transaction.h"
#include "server/store/queries.h"
#include "server/store/store_errors.h"
#include "server/store/timestamps.h"

namespace aves::store {
namespace {

constexpr char kMaxUuid[] = "ffffffff-ffff-ffff-ffff-ffffffffffff";

constexpr char kTable[] = "batch_jobs";

// An AVES_EPOCH_US column of job `id`: nullopt for NULL.
absl::StatusOr<std::optional<absl::Time>> OptionalTime(const pqxx::field& field,
                                                       const std::string& id,
                                                       const char* column) {
  if (field.is_null()) return std::nullopt;
  ASSIGN_OR_RETURN(absl::Time time,
                   ApiTime(field.as<int64_t>(), kTable, id, column));
  return time;
}

// Reads AVES_JOB_COLUMNS.
absl::StatusOr<Job> JobFromRow(const pqxx::row& row) {
  Job job;
  job.id = row[0].as<std::string>();
  job.job_type = row[1].as<std::string>();
  const std::optional<JobStatus> status =
      ParseJobStatus(row[2].as<std::string>());
  // The schema's CHECK allows only the statuses we know.
  if (!status.has_value()) {
    throw std::runtime_error("batch job " + job.id + " has status '" +
                             row[2].as<std::string>() +
                             "', which this build does not know");
  }
  job.status = *status;
  job.total_items = row[3].as<int64_t>();
  job.processed_items = row[4].as<int64_t>();
  job.failed_items = row[5].as<int64_t>();
  job.metadata = row[6].as<std::string>();
  ASSIGN_OR_RETURN(job.created_at,
                   ApiTime(row[7].as<int64_t>(), kTable, job.id, "created_at"));
  ASSIGN_OR_RETURN(job.started_at, OptionalTime(row[8], job.id, "started_at"));
  ASSIGN_OR_RETURN(job.completed_at,
                   OptionalTime(row[9], job.id, "completed_at"));
  ASSIGN_OR_RETURN(job.updated_at, ApiTime(row[10].as<int64_t>(), kTable,
                                           job.id, "updated_at"));
  job.created_at_text = row[11].as<std::string>();
  if (!row[12].is_null()) job.created_by = row[12].as<std::string>();
  return job;
}

absl::Status NoSuchJob(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("no batch job ", id));
}

// Runs `query` in `tx`: as the connection's prepared statement where the pool
// prepared it, else from its text (a joined transaction may be on any
// connection).
template <typename... Args>
pqxx::result Exec(pqxx::transaction_base& tx, db::QueryMetrics* metrics,
                  bool prepared, const NamedQuery& query, Args&&... args) {
  if (prepared) {
    return metrics != nullptr
               ? db::ExecPrepared(*metrics, tx, query.name, args...)
               : tx.exec_prepared(query.name, args...);
  }
  // Named like the prepared text, so pg_stat_statements tells them apart
  // from other clients' statements all the same.
  const std::string named = db::Named(query.name, query.sql);
  return metrics != nullptr ? db::ExecParams(*metrics, tx, named, args...)
                            : tx.exec_params(named, args...);
}

// The new job, or INVALID_ARGUMENT when the metadata is not a JSON object.
absl::StatusOr<Job> CreateWith(pqxx::transaction_base& tx,
                               db::QueryMetrics* metrics, bool prepared,
                               const NewJob& job) {
  pqxx::result rows = Exec(tx, metrics, prepared, kCreateJob, job.job_type,
                           job.total_items, job.metadata, job.created_by);
  if (rows.empty()) {
    return common::InvalidField("metadata", "must be a JSON object");
  }
  return JobFromRow(rows[0]);
}

// Under the job's row lock, so check-then-update is one step: a concurrent
// update waits, then sees the status this one left. FOR NO KEY UPDATE is the
// lock the UPDATE itself takes: it excludes other updates but not the KEY
// SHARE lock a batch_job_errors insert takes on its job (FOR UPDATE would,
// and two batches of a load, one of which recorded errors, could deadlock).
// `from_rpc`: the update comes from UpdateJobProgress, not from the bulk
// load that owns the job (a bulk load's job is written by its stream only).
absl::StatusOr<Job> UpdateProgressWith(pqxx::transaction_base& tx,
                                       db::QueryMetrics* metrics, bool prepared,
                                       bool from_rpc,
                                       const JobProgress& progress) {
  pqxx::result current = tx.exec_params(
      AVES_SQL_NAME("job_current_state") "SELECT status, processed_items, failed_items, EXISTS (SELECT 1 FROM "
      "bulk_loads WHERE bulk_loads.job_id = batch_jobs.id), job_type FROM "
      "batch_jobs WHERE id = $1 FOR NO KEY UPDATE",
      progress.id);
  if (current.empty()) return NoSuchJob(progress.id);
  if (from_rpc && current[0][3].as<bool>()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "batch job ", progress.id,
        " belongs to a bulk load: only its Insert stream updates it"));
  }
  // Maintenance runs (maintenance_store.h) are avesd's own, likewise.
  if (from_rpc &&
      absl::StartsWith(current[0][4].as<std::string>(), "maintenance_")) {
    return absl::PermissionDeniedError(
        absl::StrCat("batch job ", progress.id,
                     " is a maintenance run of avesd: only avesd updates it"));
  }
  const std::optional<JobStatus> from =
      ParseJobStatus(current[0][0].as<std::string>());
  if (!from.has_value()) {
    throw std::runtime_error("batch job " + progress.id +
                             " has a status this build does not know");
  }
  // A counter that would pass int8 is the caller's: OUT_OF_RANGE naming the
  // field, not PostgreSQL's "bigint out of range".
  for (const auto& [column, field, delta] :
       {std::tuple{1, "processed_items_delta", progress.processed_items_delta},
        std::tuple{2, "failed_items_delta", progress.failed_items_delta}}) {
    int64_t sum = 0;
    if (__builtin_add_overflow(current[0][column].as<int64_t>(), delta, &sum)) {
      return absl::OutOfRangeError(absl::StrCat(
          field, ": ", delta, " more would pass the counter's maximum (",
          std::numeric_limits<int64_t>::max(), ") for batch job ",
          progress.id));
    }
  }
  const JobStatus to = progress.status.value_or(*from);
  if (absl::Status refused = CheckJobTransition(*from, to); !refused.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("batch job ", progress.id, ": ", refused.message()));
  }
  return JobFromRow(Exec(tx, metrics, prepared, kUpdateJobProgress, progress.id,
                         JobStatusName(to), progress.processed_items_delta,
                         progress.failed_items_delta, progress.total_items,
                         progress.metadata_merge)[0]);
}

struct ErrorArrays {
  std::string indexes, ids, messages;
};
ErrorArrays ErrorArraysOf(const std::vector<NewJobError>& errors) {
  std::vector<std::optional<std::string>> indexes, ids, messages;
  for (const NewJobError& error : errors) {
    indexes.push_back(error.item_index
                          ? std::optional(std::to_string(*error.item_index))
                          : std::nullopt);
    ids.push_back(error.item_id);
    messages.push_back(error.error_message);
  }
  return {db::ArrayLiteral(indexes), db::ArrayLiteral(ids),
          db::ArrayLiteral(messages)};
}

int64_t AppendErrorsWith(pqxx::transaction_base& tx, db::QueryMetrics* metrics,
                         bool prepared, const std::string& job_id,
                         const std::vector<NewJobError>& errors) {
  const ErrorArrays arrays = ErrorArraysOf(errors);
  return Exec(tx, metrics, prepared, kAppendJobErrors, job_id, arrays.indexes,
              arrays.ids, arrays.messages)
      .affected_rows();
}

}  // namespace

std::vector<db::PreparedStatement> JobStore::PreparedStatements() {
  std::vector<db::PreparedStatement> statements;
  for (const NamedQuery* query :
       {&kListJobErrors, &kListJobsByStatuses, &kListJobsByTypeAndStatuses,
        &kGetJob, &kCreateJob, &kUpdateJobProgress, &kAppendJobErrors}) {
    statements.push_back({query->name, query->sql});
  }
  return statements;
}

absl::StatusOr<Job> JobStore::Get(const common::CallContext& context,
                                  const std::string& id) {
  std::optional<absl::StatusOr<Job>> job;
  absl::Status status = database_.Run(
      context, db::Access::kRead, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);
        pqxx::result rows =
            db::ExecPrepared(database_.query_metrics(), tx, kGetJob.name, id);
        job.reset();
        if (!rows.empty()) job = JobFromRow(rows[0]);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (!job.has_value()) return NoSuchJob(id);
  return *std::move(job);
}

absl::StatusOr<JobPage> JobStore::List(
    const common::CallContext& context, const std::vector<JobStatus>& statuses,
    const std::optional<std::string>& job_type,
    const std::optional<KeysetCursor>& after, int limit) {
  std::vector<std::string> status_names;
  for (JobStatus wanted : statuses)
    status_names.push_back(JobStatusName(wanted));
  const std::string statuses_param = db::TextArrayLiteral(status_names);
  const std::string created_at =
      after ? after->sort_key : std::string("infinity");
  const std::string last_id = after ? after->id : std::string(kMaxUuid);
  JobPage page;
  absl::Status status = database_.Run(
      context, db::Access::kRead, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);
        // One row past the page tells whether another page follows.
        pqxx::result rows =
            job_type.has_value()
                ? db::ExecPrepared(database_.query_metrics(), tx,
                                   kListJobsByTypeAndStatuses.name,
                                   statuses_param, *job_type, created_at,
                                   last_id, limit + 1)
                : db::ExecPrepared(database_.query_metrics(), tx,
                                   kListJobsByStatuses.name, statuses_param,
                                   created_at, last_id, limit + 1);
        page = JobPage{};
        page.more = static_cast<int>(rows.size()) > limit;
        for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
          page.last = {rows[i][11].as<std::string>(),
                       rows[i][0].as<std::string>()};
          absl::StatusOr<Job> job = JobFromRow(rows[i]);
          if (job.ok()) {
            page.jobs.push_back(*std::move(job));
          } else {
            LogRowLeftOut(job.status());
          }
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return page;
}

absl::StatusOr<Job> JobStore::Create(const common::CallContext& context,
                                     const NewJob& job) {
  absl::StatusOr<Job> created = absl::UnknownError("not run");
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);  // one statement: autocommit
        created =
            CreateWith(tx, &database_.query_metrics(), /*prepared=*/true, job);
        return absl::OkStatus();
      });
  if (!status.ok()) return NameInvalidJson(status, "metadata");
  return created;
}

absl::StatusOr<Job> JobStore::UpdateProgress(const common::CallContext& context,
                                             const JobProgress& progress) {
  absl::StatusOr<Job> updated = absl::UnknownError("not run");
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::work tx(connection);
        updated = UpdateProgressWith(tx, &database_.query_metrics(),
                                     /*prepared=*/true,
                                     /*from_rpc=*/true, progress);
        // A refusal rolls back (nothing was written) and is the caller's
        // answer, not a database failure.
        if (updated.ok()) tx.commit();
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return updated;
}

absl::StatusOr<int64_t> JobStore::AppendErrors(
    const common::CallContext& context, const std::string& job_id,
    const std::vector<NewJobError>& errors) {
  int64_t appended = 0;
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);  // one statement: all or none
        appended = AppendErrorsWith(tx, &database_.query_metrics(),
                                    /*prepared=*/true, job_id, errors);
        return absl::OkStatus();
      });
  // The foreign key is the existence check: no round trip before the insert.
  if (db::SqlStateOf(status) == "23503") return NoSuchJob(job_id);
  if (!status.ok()) return status;
  return appended;
}

absl::StatusOr<Job> JobStore::CreateIn(db::Transaction& tx, const NewJob& job) {
  return CreateWith(tx.get(), tx.metrics(), /*prepared=*/false, job);
}

absl::StatusOr<Job> JobStore::UpdateProgressIn(db::Transaction& tx,
                                               const JobProgress& progress) {
  return UpdateProgressWith(tx.get(), tx.metrics(),
                            /*prepared=*/false,
                            /*from_rpc=*/false, progress);
}

absl::Status JobStore::AppendErrorsIn(db::Transaction& tx,
                                      const std::string& job_id,
                                      const std::vector<NewJobError>& errors) {
  AppendErrorsWith(tx.get(), tx.metrics(), /*prepared=*/false, job_id, errors);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Job>> JobStore::FetchOn(
    db::Listener& listener, const std::vector<std::string>& ids) {
  std::vector<Job> jobs;
  RETURN_IF_ERROR(listener.Run([&](pqxx::connection_base& connection) {
    pqxx::nontransaction tx(connection);
    jobs.clear();
    for (const pqxx::row& row :
         tx.exec_params(db::Named(kGetJobs.name, kGetJobs.sql),
                        db::TextArrayLiteral(ids))) {
      // A job the API cannot represent is no event: watchers go on.
      absl::StatusOr<Job> job = JobFromRow(row);
      if (job.ok()) {
        jobs.push_back(*std::move(job));
      } else {
        LogRowLeftOut(job.status());
      }
    }
    return absl::OkStatus();
  }));
  return jobs;
}

absl::StatusOr<JobErrorPage> JobStore::ListErrors(
    const common::CallContext& context, const std::string& job_id,
    const std::optional<KeysetCursor>& after, int limit) {
  JobErrorPage page;
  bool job_exists = true;
  absl::Status status =
      database_.Run(
          context, db::Access::kRead, [&](pqxx::connection_base& c) {
            pqxx::nontransaction tx(c);
            // One row past the page tells whether another page follows.
            pqxx::result rows = db::ExecPrepared(
                database_.query_metrics(), tx, kListJobErrors.name, job_id,
                after ? after->sort_key : std::string("infinity"),
                after ? after->id : std::string("9223372036854775807"),
                limit + 1);
            page = JobErrorPage{};
            page.more = static_cast<int>(rows.size()) > limit;
            for (int i = 0; i < static_cast<int>(rows.size()) && i < limit;
                 ++i) {
              const pqxx::row row = rows[i];
              page.last = {row[6].as<std::string>(), row[0].as<std::string>()};
              JobError error;
              error.id = row[0].as<int64_t>();
              error.job_id = row[1].as<std::string>();
              if (!row[2].is_null()) error.item_index = row[2].as<int64_t>();
              if (!row[3].is_null()) error.item_id = row[3].as<std::string>();
              error.error_message = row[4].as<std::string>();
              absl::StatusOr<absl::Time> created =
                  ApiTime(row[5].as<int64_t>(), "batch_job_errors",
                          std::to_string(error.id), "created_at");
              if (!created.ok()) {
                LogRowLeftOut(created.status());
                continue;
              }
              error.created_at = *created;
              error.created_at_text = row[6].as<std::string>();
              page.errors.push_back(std::move(error));
            }
            // An empty first page may mean no such job: worth one more query
            // only then.
            if (page.errors.empty() && !after.has_value()) {
              job_exists =
              !tx.exec_params(
                     AVES_SQL_NAME(
                         "job_exists") "SELECT 1 FROM batch_jobs WHERE id = $1",
                     job_id)
                   .empty();
            }
            return absl::OkStatus();
          });
  if (!status.ok()) return status;
  if (!job_exists) return NoSuchJob(job_id);
  return page;
}

}  // namespace aves::store
