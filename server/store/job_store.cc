#include "server/store/job_store.h"

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/common/field_error.h"
#include "server/db/array_literal.h"
#include "server/db/errors.h"
#include "server/store/job_transitions.h"
#include "server/store/queries.h"
#include "server/store/store_errors.h"

namespace aves::store {
namespace {

constexpr char kMaxUuid[] = "ffffffff-ffff-ffff-ffff-ffffffffffff";

std::optional<absl::Time> OptionalTime(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return absl::FromUnixMicros(field.as<int64_t>());
}

// Reads AVES_JOB_COLUMNS.
Job JobFromRow(const pqxx::row& row) {
  Job job;
  job.id = row[0].as<std::string>();
  job.job_type = row[1].as<std::string>();
  job.status = row[2].as<std::string>();
  job.total_items = row[3].as<int64_t>();
  job.processed_items = row[4].as<int64_t>();
  job.failed_items = row[5].as<int64_t>();
  job.metadata = row[6].as<std::string>();
  job.created_at = absl::FromUnixMicros(row[7].as<int64_t>());
  job.started_at = OptionalTime(row[8]);
  job.completed_at = OptionalTime(row[9]);
  job.updated_at = absl::FromUnixMicros(row[10].as<int64_t>());
  job.created_at_text = row[11].as<std::string>();
  return job;
}

absl::Status NoSuchJob(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("no batch job ", id));
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

absl::StatusOr<Job> JobStore::Get(const db::CallContext& context,
                                  const std::string& id) {
  std::optional<Job> job;
  absl::Status status = database_.Run(
      context, db::Access::kRead, [&](pqxx::connection& connection) {
        pqxx::nontransaction tx(connection);
        pqxx::result rows = tx.exec_prepared(kGetJob.name, id);
        job.reset();
        if (!rows.empty()) job = JobFromRow(rows[0]);
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (!job.has_value()) return NoSuchJob(id);
  return *std::move(job);
}

absl::StatusOr<JobPage> JobStore::List(
    const db::CallContext& context, const std::vector<std::string>& statuses,
    const std::optional<std::string>& job_type,
    const std::optional<KeysetCursor>& after, int limit) {
  const std::string statuses_param = db::TextArrayLiteral(statuses);
  const std::string created_at =
      after ? after->created_at : std::string("infinity");
  const std::string last_id = after ? after->id : std::string(kMaxUuid);
  JobPage page;
  absl::Status status = database_.Run(
      context, db::Access::kRead, [&](pqxx::connection& connection) {
        pqxx::nontransaction tx(connection);
        // One row past the page tells whether another page follows.
        pqxx::result rows =
            job_type.has_value()
                ? tx.exec_prepared(kListJobsByTypeAndStatuses.name,
                                   statuses_param, *job_type, created_at,
                                   last_id, limit + 1)
                : tx.exec_prepared(kListJobsByStatuses.name, statuses_param,
                                   created_at, last_id, limit + 1);
        page = JobPage{};
        for (const pqxx::row& row : rows) {
          if (static_cast<int>(page.jobs.size()) == limit) {
            page.more = true;
            break;
          }
          page.jobs.push_back(JobFromRow(row));
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return page;
}

absl::StatusOr<Job> JobStore::Create(const db::CallContext& context,
                                     const NewJob& job) {
  std::optional<Job> created;
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection& connection) {
        pqxx::nontransaction tx(connection);  // one statement: autocommit
        pqxx::result rows = tx.exec_prepared(kCreateJob.name, job.job_type,
                                             job.total_items, job.metadata);
        created.reset();
        if (!rows.empty()) created = JobFromRow(rows[0]);
        return absl::OkStatus();
      });
  if (!status.ok()) return NameInvalidJson(status, "metadata");
  if (!created.has_value()) {
    return common::InvalidField("metadata", "must be a JSON object");
  }
  return *std::move(created);
}

absl::StatusOr<Job> JobStore::UpdateProgress(const db::CallContext& context,
                                             const JobProgress& progress) {
  std::optional<Job> updated;
  absl::Status refused;  // the transition rule's verdict
  bool found = false;
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection& connection) {
        pqxx::work tx(connection);
        // The row lock makes check-then-update one step: a concurrent update
        // waits, then sees the status this one left.
        pqxx::result current = tx.exec_params(
            "SELECT status FROM batch_jobs WHERE id = $1 FOR UPDATE",
            progress.id);
        found = !current.empty();
        if (!found) return absl::OkStatus();
        const std::string from = current[0][0].as<std::string>();
        const std::string to = progress.status.value_or(from);
        refused = CheckJobTransition(from, to);
        if (!refused.ok()) return absl::OkStatus();  // rolls back: nothing done
        updated = JobFromRow(tx.exec_prepared(
            kUpdateJobProgress.name, progress.id, to,
            progress.processed_items_delta, progress.failed_items_delta,
            progress.total_items)[0]);
        tx.commit();
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (!found) return NoSuchJob(progress.id);
  if (!refused.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("batch job ", progress.id, ": ", refused.message()));
  }
  return *std::move(updated);
}

absl::StatusOr<int64_t> JobStore::AppendErrors(
    const db::CallContext& context, const std::string& job_id,
    const std::vector<NewJobError>& errors) {
  std::vector<std::optional<std::string>> indexes, ids, messages;
  for (const NewJobError& error : errors) {
    indexes.push_back(error.item_index
                          ? std::optional(std::to_string(*error.item_index))
                          : std::nullopt);
    ids.push_back(error.item_id);
    messages.push_back(error.error_message);
  }
  int64_t appended = 0;
  absl::Status status = database_.Run(
      context, db::Access::kWrite, [&](pqxx::connection& connection) {
        pqxx::nontransaction tx(connection);  // one statement: all or none
        appended =
            tx.exec_prepared(kAppendJobErrors.name, job_id,
                             db::ArrayLiteral(indexes), db::ArrayLiteral(ids),
                             db::ArrayLiteral(messages))
                .affected_rows();
        return absl::OkStatus();
      });
  // The foreign key is the existence check: no round trip before the insert.
  if (db::SqlStateOf(status) == "23503") return NoSuchJob(job_id);
  if (!status.ok()) return status;
  return appended;
}

std::vector<Job> JobStore::Fetch(pqxx::connection& connection,
                                 const std::vector<std::string>& ids) {
  pqxx::nontransaction tx(connection);
  std::vector<Job> jobs;
  for (const pqxx::row& row :
       tx.exec_params(kGetJobs.sql, db::TextArrayLiteral(ids))) {
    jobs.push_back(JobFromRow(row));
  }
  return jobs;
}

absl::StatusOr<JobErrorPage> JobStore::ListErrors(
    const db::CallContext& context, const std::string& job_id,
    const std::optional<JobErrorCursor>& after, int limit) {
  JobErrorPage page;
  bool job_exists = true;
  absl::Status status =
      database_.Run(context, db::Access::kRead, [&](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        // One row past the page tells whether another page follows.
        pqxx::result rows = tx.exec_prepared(
            kListJobErrors.name, job_id,
            after ? after->created_at : std::string("infinity"),
            after ? after->id : std::string("9223372036854775807"), limit + 1);
        page = JobErrorPage{};
        for (const pqxx::row& row : rows) {
          if (static_cast<int>(page.errors.size()) == limit) {
            page.more = true;
            break;
          }
          JobError error;
          error.id = row[0].as<int64_t>();
          error.job_id = row[1].as<std::string>();
          if (!row[2].is_null()) error.item_index = row[2].as<int64_t>();
          if (!row[3].is_null()) error.item_id = row[3].as<std::string>();
          error.error_message = row[4].as<std::string>();
          error.created_at = absl::FromUnixMicros(row[5].as<int64_t>());
          error.created_at_text = row[6].as<std::string>();
          page.errors.push_back(std::move(error));
        }
        // An empty first page may mean no such job: worth one more query only
        // then.
        if (page.errors.empty() && !after.has_value()) {
          job_exists =
              !tx.exec_params("SELECT 1 FROM batch_jobs WHERE id = $1", job_id)
                   .empty();
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  if (!job_exists) return NoSuchJob(job_id);
  return page;
}

}  // namespace aves::store
