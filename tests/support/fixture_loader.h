// FixtureLoader: test and benchmark fixtures go into the database the way a
// bulk loader's rows do — typed cells checked and encoded against the live
// catalog (db/copy_text) and committed in batches by bulk::DatabaseLoadStore,
// the path behind BulkInsertService.Insert — as the seed's seed-test-data
// went through batchInsert. So every fixture load also exercises that path.
// A fixture must load whole: a refused row is an error. Its bookkeeping (the
// bulk_insert job and the bulk_loads row) is removed at the end, so a test's
// batch_jobs holds only the jobs the test made.
#ifndef AVES_TESTS_SUPPORT_FIXTURE_LOADER_H_
#define AVES_TESTS_SUPPORT_FIXTURE_LOADER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "server/bulk/copy_text.h"
#include "server/bulk/load_store.h"
#include "server/bulk/row_encoder.h"
#include "server/db/database.h"

namespace aves::testing {

class FixtureLoader {
 public:
  static constexpr int kBatchRows = 5000;

  static absl::StatusOr<std::unique_ptr<FixtureLoader>> Create(
      const std::string& conninfo);
  ~FixtureLoader();

  // Starts loading `table`; rows give `columns`, in this order.
  absl::Status Begin(const std::string& table,
                     const std::vector<std::string>& columns);
  // One row (cells: bulk::CellValue's constructors); every kBatchRows rows
  // commit as a batch.
  absl::Status Add(const std::vector<bulk::CellValue>& row);
  // Commits the rest and removes the load's bookkeeping.
  absl::Status End();

 private:
  FixtureLoader() = default;
  absl::Status CommitBuffered();

  std::unique_ptr<db::Database> database_;
  std::unique_ptr<bulk::DatabaseLoadStore> store_;
  std::shared_ptr<const bulk::TableCatalog> catalog_;
  int loads_ = 0;
  bulk::LoadSpec spec_;
  bulk::LoadState state_;
  bulk::RowEncoder encoder_;
  std::vector<bulk::CopyRow> rows_;
  int64_t next_row_ = 0;
  int64_t batch_start_ = 0;
};

}  // namespace aves::testing

#endif  // AVES_TESTS_SUPPORT_FIXTURE_LOADER_H_
