// JobStore: batch_jobs and batch_job_errors, as plain structs. Its SQL is the
// named queries of queries.h (prepared per connection) plus an existence
// check.
#ifndef AVES_SERVER_STORE_JOB_STORE_H_
#define AVES_SERVER_STORE_JOB_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "server/db/database.h"

namespace aves::store {

struct JobError {
  int64_t id = 0;
  std::string job_id;
  std::optional<int64_t> item_index;
  std::optional<std::string> item_id;
  std::string error_message;
  absl::Time created_at;
  std::string created_at_text;  // as PostgreSQL printed it: the keyset cursor
};

// Where a page starts: after the row with this (created_at text, id).
struct JobErrorCursor {
  std::string created_at;
  std::string id;
};

struct JobErrorPage {
  std::vector<JobError> errors;
  bool more = false;  // rows remain after this page
};

class JobStore {
 public:
  explicit JobStore(db::Database& database) : database_(database) {}

  static std::vector<db::PreparedStatement> PreparedStatements();

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
