// LoadStore: everything a load does to the database, as one interface, so
// the loader (loader.h) is tested without one. DatabaseLoadStore is the real
// thing, over PostgreSQL: the catalog (read once), the ledger, the batch
// committer and the stages.
#ifndef AVES_SERVER_BULK_LOAD_STORE_H_
#define AVES_SERVER_BULK_LOAD_STORE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "server/bulk/batch_committer.h"
#include "server/bulk/ledger.h"
#include "server/bulk/load_spec.h"
#include "server/bulk/stage.h"
#include "server/bulk/table_catalog.h"
#include "server/common/call_context.h"

namespace aves::db {
class Database;
}  // namespace aves::db

namespace aves::bulk {

class LoadStore {
 public:
  virtual ~LoadStore() = default;

  // The allow-listed tables and their columns (blocking).
  virtual absl::StatusOr<std::shared_ptr<const TableCatalog>> Catalog() = 0;
  // LoadLedger::Open / Finish. An opened attempt's lease is renewed until
  // Finish or ReleaseLease (see RenewLeases below).
  virtual absl::StatusOr<LoadState> Open(const common::CallContext& context,
                                         const LoadSpec& spec) = 0;
  virtual absl::Status Finish(const common::CallContext& context,
                              const LoadState& state, LoadOutcome outcome,
                              const std::string& note) = 0;
  // The attempt's stream is gone: stop renewing its lease (idempotent; the
  // lease then lapses unless Finish released it).
  virtual void ReleaseLease(const std::string& job_id) = 0;
  // BatchCommitter::Commit.
  virtual absl::StatusOr<BatchResult> CommitBatch(
      const common::CallContext& context, const LoadSpec& spec,
      const std::string& job_id, int64_t first_row, int64_t end_row,
      std::vector<CopyRow> rows, std::vector<RejectedRow> rejected,
      std::vector<ReturnedRow>* returned) = 0;
  // Stages: Create / Add / Publish / Drop.
  virtual absl::Status CreateStage(const common::CallContext& context,
                                   const LoadSpec& spec,
                                   const std::string& job_id) = 0;
  virtual absl::Status StageRows(const common::CallContext& context,
                                 const LoadSpec& spec,
                                 const std::string& job_id,
                                 const std::vector<CopyRow>& rows) = 0;
  virtual absl::Status PublishStage(const common::CallContext& context,
                                    const LoadSpec& spec, int64_t rows,
                                    LoadState* state) = 0;
  virtual absl::Status DropStage(const common::CallContext& context,
                                 const std::string& job_id) = 0;
};

class DatabaseLoadStore final : public LoadStore {
 public:
  // How long an attempt holds its load without a renewal
  // (AVES_BULK_LEASE_MS): what a load whose avesd died waits at most before
  // another stream may take it over.
  static constexpr absl::Duration kDefaultLease = absl::Seconds(30);

  // `allowed_tables`: the allow-list; their columns are read from the
  // catalog on first use (and again until that succeeds, so avesd may start
  // before its database is up).
  DatabaseLoadStore(db::Database& database,
                    std::vector<std::string> allowed_tables,
                    absl::Duration lease = kDefaultLease);

  absl::StatusOr<std::shared_ptr<const TableCatalog>> Catalog() override;
  absl::StatusOr<LoadState> Open(const common::CallContext& context,
                                 const LoadSpec& spec) override;
  absl::Status Finish(const common::CallContext& context,
                      const LoadState& state, LoadOutcome outcome,
                      const std::string& note) override;
  void ReleaseLease(const std::string& job_id) override;
  absl::StatusOr<BatchResult> CommitBatch(
      const common::CallContext& context, const LoadSpec& spec,
      const std::string& job_id, int64_t first_row, int64_t end_row,
      std::vector<CopyRow> rows, std::vector<RejectedRow> rejected,
      std::vector<ReturnedRow>* returned = nullptr) override {
    return batches_.Commit(context, spec, job_id, first_row, end_row,
                           std::move(rows), std::move(rejected), returned);
  }
  absl::Status CreateStage(const common::CallContext& context,
                           const LoadSpec& spec,
                           const std::string& job_id) override {
    return stages_.Create(context, spec, job_id);
  }
  absl::Status StageRows(const common::CallContext& context,
                         const LoadSpec& spec, const std::string& job_id,
                         const std::vector<CopyRow>& rows) override {
    return stages_.Add(context, spec, job_id, rows);
  }
  absl::Status PublishStage(const common::CallContext& context,
                            const LoadSpec& spec, int64_t rows,
                            LoadState* state) override {
    return stages_.Publish(context, spec, rows, state);
  }
  absl::Status DropStage(const common::CallContext& context,
                         const std::string& job_id) override {
    return stages_.Drop(context, job_id);
  }

  // Renews the leases of this process's live attempts (avesd calls it every
  // third of a lease: app/background_tasks).
  absl::Status RenewLeases(const common::CallContext& context);
  absl::Duration lease() const { return lease_; }

  // The sweep of abandoned loads (LoadLedger::SweepAbandoned).
  absl::StatusOr<LoadLedger::SweepResult> SweepAbandoned(
      const common::CallContext& context, absl::Duration idle) {
    return ledger_.SweepAbandoned(context, idle);
  }

 private:
  db::Database& database_;
  const std::vector<std::string> allowed_tables_;
  LoadLedger ledger_;
  BatchCommitter batches_;
  Stages stages_;
  const absl::Duration lease_;
  std::mutex catalog_mutex_;
  std::shared_ptr<const TableCatalog> catalog_;  // catalog_mutex_
  std::mutex leases_mutex_;
  std::set<std::string> leased_jobs_;  // leases_mutex_: live attempts
};

}  // namespace aves::bulk

#endif  // AVES_SERVER_BULK_LOAD_STORE_H_
