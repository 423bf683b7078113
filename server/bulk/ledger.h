// LoadLedger: the book of bulk loads (bulk_loads, migrations 011–012) and
// their jobs. Each attempt of a load is a batch_jobs row (job_type
// bulk_insert, metadata: load id, table, columns, mode, the offset it resumed
// at), written through store::JobStore so a load's job obeys the same
// transition rules as every job: pending until its first batch, processing,
// then completed, failed or cancelled. Resuming a load whose attempt ended
// starts a new attempt (a final job status never changes) from the
// committed offset.
//
// One stream per load at a time (migration 014): an attempt holds its load
// for a lease, renewed while its stream lives (RenewLeases) and released when
// it ends. Opening a load another attempt holds is refused with ABORTED; once
// that lease has lapsed (its avesd died, or lost the database) the new
// attempt takes over and fails the old one's job, and the job transition
// rule then refuses every later batch or publish of the old attempt.
#ifndef AVES_SERVER_BULK_LEDGER_H_
#define AVES_SERVER_BULK_LEDGER_H_

#include <cstdint>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "server/bulk/load_spec.h"
#include "server/common/call_context.h"

namespace aves::db {
class Database;
}  // namespace aves::db

namespace aves::bulk {

class LoadLedger {
 public:
  LoadLedger(db::Database& database, absl::Duration lease)
      : database_(database), lease_(lease) {}

  // Starts `spec.load_id`, or resumes it at its committed offset, holding it
  // for one lease. FAILED_PRECONDITION when the id belongs to a load of
  // another table or columns; ABORTED while another attempt holds it.
  absl::StatusOr<LoadState> Open(const common::CallContext& context,
                                 const LoadSpec& spec);

  // Extends the leases of these attempts (job ids) by one lease from now.
  absl::Status RenewLeases(const common::CallContext& context,
                           const std::vector<std::string>& job_ids);

  // Ends the attempt with `outcome`, recording `note` (why) and the
  // committed offset in its job's metadata, and releases its lease.
  // FAILED_PRECONDITION when the job already ended (a sweep failed it, or
  // another stream took the load over).
  absl::Status Finish(const common::CallContext& context,
                      const LoadState& state, LoadOutcome outcome,
                      const std::string& note);

  // Cleans up after loads whose avesd died mid-load (a crash, a kill): jobs
  // still pending or processing whose load wrote nothing for `idle` are
  // failed ("abandoned"), and staging tables of loads no longer running are
  // dropped (each DROP waits at most a second for its lock, so a sweep never
  // queues in front of a running load), and the stored RETURNING answers of
  // loads that ended and have been idle for `idle` are deleted. Safe with
  // several avesd on one database: a running load touches its row with every
  // batch.
  struct SweepResult {
    int64_t jobs_abandoned = 0;
    int64_t stages_dropped = 0;
    int64_t returned_batches_deleted = 0;  // RETURNING answers kept (015)
  };
  absl::StatusOr<SweepResult> SweepAbandoned(const common::CallContext& context,
                                             absl::Duration idle);

 private:
  db::Database& database_;
  const absl::Duration lease_;
};

}  // namespace aves::bulk

#endif  // AVES_SERVER_BULK_LEDGER_H_
