// Stages of atomic loads (all or nothing): an atomic load stages its rows in
// an UNLOGGED table of its own — no constraints, so staging never fails on a
// row the target would refuse — and publishes them in one transaction at the
// end. Memory stays bounded, and a load that fails or is abandoned drops its
// stage: nothing of it ever reaches the target.
#ifndef AVES_SERVER_BULK_STAGE_H_
#define AVES_SERVER_BULK_STAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include <absl/status/status.h>

#include "server/bulk/load_spec.h"
#include "server/common/call_context.h"

namespace aves::db {
class Database;
}  // namespace aves::db

namespace aves::bulk {

// The schema of the stage tables (migration 018): the one place the serving
// role may create tables, so it needs no DDL on the schema of the data.
inline constexpr char kStageSchema[] = "aves_stage";

// The stage's table name: of our own making (never the request's text),
// one per attempt (`job_id`), so an attempt that was taken over can never
// touch its successor's rows.
std::string StageTable(const std::string& job_id);
// The same, schema-qualified and quoted for SQL.
std::string QualifiedStageTable(const std::string& job_id);

class Stages {
 public:
  explicit Stages(db::Database& database) : database_(database) {}

  // Creates the attempt's stage, empty.
  absl::Status Create(const common::CallContext& context, const LoadSpec& spec,
                      const std::string& job_id);
  // Stages rows with their numbers (so an upsert's last row wins however the
  // batches interleave); batches may stage concurrently. The job turns
  // processing.
  absl::Status Add(const common::CallContext& context, const LoadSpec& spec,
                   const std::string& job_id, const std::vector<CopyRow>& rows);
  // INSERT ... SELECT from the stage, the offset, the job's count, DROP of
  // the stage: one transaction. A row the target refuses fails the whole load
  // with INVALID_ARGUMENT naming the row, its column(s) and PostgreSQL's
  // primary message — never its DETAIL, which shows the failing row or
  // another user's key. Pass a context with a query_timeout of its own: a
  // large publish outlasts DB_QUERY_TIMEOUT.
  absl::Status Publish(const common::CallContext& context, const LoadSpec& spec,
                       int64_t rows, LoadState* state);
  absl::Status Drop(const common::CallContext& context,
                    const std::string& job_id);

 private:
  // "row 1234, column user_id: <PostgreSQL's primary message>": the first
  // row the target refuses, found again in a transaction rolled back after
  // (or the refusal's own message when the search fails).
  std::string RefusedRow(const common::CallContext& context,
                         const LoadSpec& spec, const std::string& job_id,
                         int64_t rows, const absl::Status& refusal);

  db::Database& database_;
};

}  // namespace aves::bulk

#endif  // AVES_SERVER_BULK_STAGE_H_
