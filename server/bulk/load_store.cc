#include "server/bulk/load_store.h"

#include <utility>

#include <absl/time/clock.h>

namespace aves::bulk {

DatabaseLoadStore::DatabaseLoadStore(db::Database& database,
                                     std::vector<std::string> allowed_tables,
                                     absl::Duration lease)
    : database_(database),
      allowed_tables_(std::move(allowed_tables)),
      ledger_(database, lease),
      batches_(database),
      stages_(database),
      lease_(lease) {}

absl::StatusOr<LoadState> DatabaseLoadStore::Open(
    const common::CallContext& context, const LoadSpec& spec) {
  absl::StatusOr<LoadState> state = ledger_.Open(context, spec);
  if (state.ok() && !state->already_complete) {
    std::lock_guard<std::mutex> lock(leases_mutex_);
    leased_jobs_.insert(state->job_id);
  }
  return state;
}

absl::Status DatabaseLoadStore::Finish(const common::CallContext& context,
                                       const LoadState& state,
                                       LoadOutcome outcome,
                                       const std::string& note) {
  ReleaseLease(state.job_id);
  return ledger_.Finish(context, state, outcome, note);
}

void DatabaseLoadStore::ReleaseLease(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(leases_mutex_);
  leased_jobs_.erase(job_id);
}

absl::Status DatabaseLoadStore::RenewLeases(
    const common::CallContext& context) {
  std::vector<std::string> live;
  {
    std::lock_guard<std::mutex> lock(leases_mutex_);
    live.assign(leased_jobs_.begin(), leased_jobs_.end());
  }
  return ledger_.RenewLeases(context, live);
}

absl::StatusOr<std::shared_ptr<const TableCatalog>>
DatabaseLoadStore::Catalog() {
  std::lock_guard<std::mutex> lock(catalog_mutex_);
  if (catalog_ != nullptr) return catalog_;
  common::CallContext context;
  context.deadline = absl::Now() + absl::Seconds(10);
  context.holder = "bulk-load catalog";
  absl::StatusOr<TableCatalog> loaded =
      TableCatalog::Load(database_, context, allowed_tables_);
  if (!loaded.ok()) return loaded.status();
  catalog_ = std::make_shared<const TableCatalog>(*std::move(loaded));
  return catalog_;
}

}  // namespace aves::bulk
