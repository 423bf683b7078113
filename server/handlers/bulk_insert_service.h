// BulkInsertService: the Insert stream. One call is one load: a header, then
// row chunks. Rows are checked against the live catalog (types, NOT NULL,
// cell count) on arrival and encoded as COPY text; every batch_size rows
// commit as one batch (BulkLoadStore) on the executor — INSERT batches
// several at once, each on its own pooled connection — and reading pauses
// while the most batches are committing, so a stream holds at most
// parallel_batches + 1 batches of rows and a fast loader waits for the
// database (backpressure through gRPC's flow control). The client hears the
// committed offset first (a resumed load skips what is done) and after every
// batch; the summary ends the call.
//
// Modes: INSERT, UPSERT and RETURNING, per batch or atomic (staged, then
// published in one transaction: BulkLoadStore); RETURNING is per batch only.
#ifndef AVES_SERVER_HANDLERS_BULK_INSERT_SERVICE_H_
#define AVES_SERVER_HANDLERS_BULK_INSERT_SERVICE_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "aves/data/v1/bulk_insert.grpc.pb.h"
#include "server/common/executor.h"
#include "server/db/database.h"
#include "server/store/bulk_load_store.h"
#include "server/store/table_catalog.h"

namespace aves::handlers {

class BulkInsertServiceImpl final
    : public aves::data::v1::BulkInsertService::CallbackService {
 public:
  static constexpr int kDefaultBatchRows = 5000;

  // Rows a stream may hold: at most (parallel_batches + 1) batches of at
  // most max_batch_rows rows.
  struct Limits {
    int parallel_batches = 2;     // batches of one load committing at once
    int max_batch_rows = 50'000;  // the largest header.batch_size
  };

  // `allowed_tables`: the allow-list; their columns are read from the
  // catalog on first use (and again until that succeeds, so avesd may start
  // before its database is up).
  BulkInsertServiceImpl(db::Database& database, store::BulkLoadStore& store,
                        common::Executor& executor,
                        std::vector<std::string> allowed_tables, Limits limits,
                        absl::Duration slow_rpc)
      : database_(database),
        store_(store),
        executor_(executor),
        allowed_tables_(std::move(allowed_tables)),
        limits_(limits),
        slow_rpc_(slow_rpc) {}

  // The catalog, loaded once (blocking: call on the executor).
  absl::StatusOr<std::shared_ptr<const store::TableCatalog>> Catalog();

  grpc::ServerBidiReactor<aves::data::v1::InsertRequest,
                          aves::data::v1::InsertResponse>*
  Insert(grpc::CallbackServerContext* context) override;

 private:
  db::Database& database_;
  store::BulkLoadStore& store_;
  common::Executor& executor_;
  const std::vector<std::string> allowed_tables_;
  const Limits limits_;
  const absl::Duration slow_rpc_;
  std::mutex catalog_mutex_;
  std::shared_ptr<const store::TableCatalog> catalog_;  // catalog_mutex_
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_BULK_INSERT_SERVICE_H_
