// JobStore: batch_jobs and batch_job_errors, as plain structs. Its SQL is the
// named queries of queries.h (prepared per connection) plus existence and
// row-lock checks.
#ifndef AVES_SERVER_STORE_JOB_STORE_H_
#define AVES_SERVER_STORE_JOB_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>
#include <pqxx/connection>

#include "server/db/database.h"

namespace aves::store {

struct Job {
  std::string id;
  std::string job_type;
  std::string status;  // pending | processing | completed | failed | cancelled
  int64_t total_items = 0;
  int64_t processed_items = 0;
  int64_t failed_items = 0;
  std::string metadata;  // JSON object text
  absl::Time created_at;
  std::optional<absl::Time> started_at;
  std::optional<absl::Time> completed_at;
  absl::Time updated_at;
  std::string created_at_text;  // as PostgreSQL printed it: the keyset cursor
};

// Where a page starts: after the row with this (created_at text, id).
struct KeysetCursor {
  std::string created_at;
  std::string id;
};

struct JobPage {
  std::vector<Job> jobs;
  bool more = false;  // rows remain after this page
};

struct NewJob {
  std::string job_type;
  int64_t total_items = 0;
  std::string metadata = "{}";  // JSON object text
};

struct JobProgress {
  std::string id;
  std::optional<std::string> status;  // nullopt: unchanged
  int64_t processed_items_delta = 0;
  int64_t failed_items_delta = 0;
  std::optional<int64_t> total_items;  // nullopt: unchanged
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

using JobErrorCursor = KeysetCursor;

struct JobErrorPage {
  std::vector<JobError> errors;
  bool more = false;  // rows remain after this page
};

class JobStore {
 public:
  explicit JobStore(db::Database& database) : database_(database) {}

  static std::vector<db::PreparedStatement> PreparedStatements();

  // The job; NOT_FOUND when there is none.
  absl::StatusOr<Job> Get(const db::CallContext& context,
                          const std::string& id);

  // Up to `limit` jobs in `statuses` (of `job_type` when given), newest
  // first, after `after`.
  absl::StatusOr<JobPage> List(const db::CallContext& context,
                               const std::vector<std::string>& statuses,
                               const std::optional<std::string>& job_type,
                               const std::optional<KeysetCursor>& after,
                               int limit);

  // A new pending job. INVALID_ARGUMENT naming metadata unless it is a JSON
  // object.
  absl::StatusOr<Job> Create(const db::CallContext& context, const NewJob& job);

  // Applies `progress` under a row lock, checking the status transition
  // (job_transitions.h). NOT_FOUND, FAILED_PRECONDITION.
  absl::StatusOr<Job> UpdateProgress(const db::CallContext& context,
                                     const JobProgress& progress);

  // Records `errors` of `job_id` in one statement (all or none). NOT_FOUND
  // when the job does not exist.
  absl::StatusOr<int64_t> AppendErrors(const db::CallContext& context,
                                       const std::string& job_id,
                                       const std::vector<NewJobError>& errors);

  // The jobs among `ids` that exist, on a connection of the caller's (the
  // change feed's own, outside the pool).
  static std::vector<Job> Fetch(pqxx::connection& connection,
                                const std::vector<std::string>& ids);

  // Up to `limit` errors of `job_id`, newest first, after `after` (first page
  // when nullopt). NOT_FOUND when the job does not exist.
  absl::StatusOr<JobErrorPage> ListErrors(
      const db::CallContext& context, const std::string& job_id,
      const std::optional<JobErrorCursor>& after, int limit);

 private:
  db::Database& database_;
};

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_JOB_STORE_H_
