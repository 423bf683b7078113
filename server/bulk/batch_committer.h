// BatchCommitter: one batch of a per-batch load, committed in one
// transaction: its checked rows (COPY straight into the table for INSERT;
// COPY into a temporary table and INSERT ... ON CONFLICT or RETURNING from
// it for UPSERT and RETURNING), the rows left out as job errors, the batch's
// row range into the load's committed rows, and the job's counters — so what
// the load says is committed can never disagree with the rows. When
// PostgreSQL refuses a batch for a row's data (a foreign key, a unique key),
// the batch is halved until the refused rows stand alone (in transactions of
// their own above a few hundred rows, under savepoints below); they are
// recorded and the rest commits, so one bad row never costs a batch. A load
// that refuses more rows than its max_errors fails instead: the batch that
// passed it writes nothing.
//
// Batches of one load may commit concurrently on several pooled connections
// and so finish out of order: the load records the union of committed row
// ranges beside the contiguous prefix where a resumed loader restarts.
#ifndef AVES_SERVER_BULK_BATCH_COMMITTER_H_
#define AVES_SERVER_BULK_BATCH_COMMITTER_H_

#include <cstdint>
#include <string>
#include <vector>

#include <absl/status/statusor.h>

#include "server/bulk/load_spec.h"
#include "server/common/call_context.h"

namespace aves::db {
class Database;
}  // namespace aves::db

namespace aves::bulk {

class BatchCommitter {
 public:
  explicit BatchCommitter(db::Database& database) : database_(database) {}

  // Commits rows [first_row, end_row) of the attempt `job_id`: `rows`
  // (ascending, within the range) by COPY, `rejected` as job errors, and the
  // range into the load's committed rows — one transaction. Batches of one
  // load may commit concurrently, in any order. Rows some earlier batch
  // committed (a resumed load resending them, a second stream of the same
  // load) are acknowledged without being written again; the check is redone
  // under the load's row lock at the end, so no row is ever written twice.
  // In returning mode `returned` receives the inserted rows' values, in
  // input order, and they are stored with the batch (bulk_returned_rows), so
  // rows of the range committed before come back with what they returned
  // then: a loader that lost a batch's answer resends the batch.
  // INVALID_ARGUMENT naming header.max_errors when the load's refused rows
  // would pass spec.max_errors (nothing of the batch written).
  absl::StatusOr<BatchResult> Commit(const common::CallContext& context,
                                     const LoadSpec& spec,
                                     const std::string& job_id,
                                     int64_t first_row, int64_t end_row,
                                     std::vector<CopyRow> rows,
                                     std::vector<RejectedRow> rejected,
                                     std::vector<ReturnedRow>* returned);

 private:
  // A batch too large to narrow down in one transaction, committed as two.
  absl::StatusOr<BatchResult> CommitHalves(const common::CallContext& context,
                                           const LoadSpec& spec,
                                           const std::string& job_id,
                                           int64_t first_row, int64_t end_row,
                                           std::vector<CopyRow> rows,
                                           std::vector<RejectedRow> rejected,
                                           std::vector<ReturnedRow>* returned);

  db::Database& database_;
};

}  // namespace aves::bulk

#endif  // AVES_SERVER_BULK_BATCH_COMMITTER_H_
