// JobStore: batch_jobs and batch_job_errors, as plain structs. Every write of
// a job row goes through here, so every job — an API caller's or a bulk
// load's — obeys the transition rule of job_status.h. Its SQL is the named
// queries of queries.h (prepared per pooled connection) plus existence and
// row-lock checks.
#ifndef AVES_SERVER_STORE_JOB_STORE_H_
#define AVES_SERVER_STORE_JOB_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "server/common/call_context.h"
#include "server/db/prepared_statement.h"
#include "server/store/job_status.h"
#include "server/store/keyset.h"

namespace aves::db {
class Database;
class Listener;
class Transaction;
}  // namespace aves::db

namespace aves::store {

struct Job {
  std::string id;
  std::string job_type;
  JobStatus status = JobStatus::kPending;
  int64_t total_items = 0;
  int64_t processed_items = 0;
  int64_t failed_items = 0;
  std::string metadata;  // JSON object text
  absl::Time created_at;
  std::optional<absl::Time> started_at;
  std::optional<absl::Time> completed_at;
  absl::Time updated_at;
  std::string created_at_text;  // as PostgreSQL printed it: the keyset cursor
  // The authenticated caller that created it; nullopt without one.
  std::optional<std::string> created_by;
};

struct JobPage {
  std::vector<Job> jobs;
  bool more = false;  // rows remain after this page
  KeysetCursor last;  // the next page starts after it (keyset.h)
};

struct NewJob {
  std::string job_type;
  int64_t total_items = 0;
  std::string metadata = "{}";            // JSON object text
  std::optional<std::string> created_by;  // the authenticated caller
};

struct JobProgress {
  std::string id;
  std::optional<JobStatus> status;  // nullopt: unchanged
  int64_t processed_items_delta = 0;
  int64_t failed_items_delta = 0;
  std::optional<int64_t> total_items;  // nullopt: unchanged
  // A JSON object whose keys replace the metadata's (nullopt: unchanged).
  std::optional<std::string> metadata_merge;
};

struct NewJobError {
  std::optional<int64_t> item_index;
  std::optional<std::string> item_id;
  std::string error_message;
};

struct JobError {
  int64_t id = 0;
  std::string job_id;
  std::optional<int64_t> item_index;
  std::optional<std::string> item_id;
  std::string error_message;
  absl::Time created_at;
  std::string created_at_text;  // as PostgreSQL printed it: the keyset cursor
};

struct JobErrorPage {
  std::vector<JobError> errors;
  bool more = false;  // rows remain after this page
  KeysetCursor last;  // the next page starts after it (keyset.h)
};

class JobStore {
 public:
  explicit JobStore(db::Database& database) : database_(database) {}

  static std::vector<db::PreparedStatement> PreparedStatements();

  // The job; NOT_FOUND when there is none; FAILED_PRECONDITION naming it
  // when it holds a time the API cannot represent. (Lists leave such a row
  // out; the change feed skips it.)
  absl::StatusOr<Job> Get(const common::CallContext& context,
                          const std::string& id);

  // Up to `limit` jobs in `statuses` (of `job_type` when given), newest
  // first, after `after`.
  absl::StatusOr<JobPage> List(const common::CallContext& context,
                               const std::vector<JobStatus>& statuses,
                               const std::optional<std::string>& job_type,
                               const std::optional<KeysetCursor>& after,
                               int limit);

  // A new pending job. INVALID_ARGUMENT naming metadata unless it is a JSON
  // object.
  absl::StatusOr<Job> Create(const common::CallContext& context,
                             const NewJob& job);

  // Applies `progress` under a row lock, checking the status transition
  // (job_status.h). NOT_FOUND, FAILED_PRECONDITION; PERMISSION_DENIED for a
  // bulk load's job, which only the load's own stream updates (through
  // UpdateProgressIn): a status set from outside would bypass its ledger.
  absl::StatusOr<Job> UpdateProgress(const common::CallContext& context,
                                     const JobProgress& progress);

  // Records `errors` of `job_id` in one statement (all or none). NOT_FOUND
  // when the job does not exist.
  absl::StatusOr<int64_t> AppendErrors(const common::CallContext& context,
                                       const std::string& job_id,
                                       const std::vector<NewJobError>& errors);

  // Up to `limit` errors of `job_id`, newest first, after `after` (first page
  // when nullopt). NOT_FOUND when the job does not exist.
  absl::StatusOr<JobErrorPage> ListErrors(
      const common::CallContext& context, const std::string& job_id,
      const std::optional<KeysetCursor>& after, int limit);

  // The same writes inside the caller's open transaction, for a module whose
  // own rows must commit together with its job's (bulk loads). Same results
  // and refusals; a refusal leaves the caller to roll back.
  static absl::StatusOr<Job> CreateIn(db::Transaction& tx, const NewJob& job);
  static absl::StatusOr<Job> UpdateProgressIn(db::Transaction& tx,
                                              const JobProgress& progress);
  static absl::Status AppendErrorsIn(db::Transaction& tx,
                                     const std::string& job_id,
                                     const std::vector<NewJobError>& errors);

  // The jobs among `ids` that exist, read on the change feed's own
  // connection (outside the pool).
  static absl::StatusOr<std::vector<Job>> FetchOn(
      db::Listener& listener, const std::vector<std::string>& ids);

 private:
  db::Database& database_;
};

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_JOB_STORE_H_
