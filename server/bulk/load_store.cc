#include "server/bulk/load_store.h"

#include <utility>

#include <absl/time/clock.h>

namespace aves::bulk {

DatabaseLoadStore::DatabaseLoadStore(db::Database& database,
                                     std::vector<std::string> allowed_tables)
    : database_(database),
      allowed_tables_(std::move(allowed_tables)),
      ledger_(database),
      batches_(database),
      stages_(database) {}

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
