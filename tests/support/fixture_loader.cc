#include "tests/support/fixture_loader.h"

#include <utility>

#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/common/status_macros.h"

namespace aves::testing {
namespace {

common::CallContext Context() {
  common::CallContext context;
  context.deadline = absl::Now() + absl::Minutes(10);
  context.holder = "fixture loader";
  return context;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FixtureLoader>> FixtureLoader::Create(
    const std::string& conninfo) {
  std::unique_ptr<FixtureLoader> loader(new FixtureLoader());
  db::PoolOptions options;
  options.min_connections = 1;
  options.max_connections = 2;
  loader->database_ = std::make_unique<db::Database>(
      conninfo, options, std::vector<db::PreparedStatement>{});
  loader->database_->Start();
  if (!loader->database_->pool().WaitUntilReady(absl::Seconds(30)))
    return absl::UnavailableError("fixture loader: database not reachable");
  loader->store_ = std::make_unique<bulk::DatabaseLoadStore>(
      *loader->database_, bulk::TableCatalog::DefaultTables());
  ASSIGN_OR_RETURN(loader->catalog_, loader->store_->Catalog());
  return loader;
}

FixtureLoader::~FixtureLoader() = default;

absl::Status FixtureLoader::Begin(const std::string& table,
                                  const std::vector<std::string>& columns) {
  ASSIGN_OR_RETURN(const bulk::TableInfo* info,
                   catalog_->Table("table", table));
  ASSIGN_OR_RETURN(std::vector<const bulk::ColumnInfo*> resolved,
                   bulk::TableCatalog::Columns(*info, columns, "columns"));
  encoder_ = bulk::RowEncoder(std::move(resolved));
  spec_ = bulk::LoadSpec{};
  spec_.load_id = absl::StrCat("fixture-", table, "-", ++loads_, "-",
                               absl::ToUnixNanos(absl::Now()));
  spec_.table = info->name;
  spec_.columns = columns;
  ASSIGN_OR_RETURN(state_, store_->Open(Context(), spec_));
  rows_.clear();
  next_row_ = batch_start_ = 0;
  return absl::OkStatus();
}

absl::Status FixtureLoader::Add(const std::vector<bulk::CellValue>& row) {
  std::string line;
  absl::Status encoded = encoder_.Encode(
      next_row_, static_cast<int>(row.size()), [&](int c) { return row[c]; },
      &line);
  if (!encoded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec_.table, " ", encoded.message()));
  }
  rows_.push_back({next_row_++, std::move(line)});
  if (static_cast<int>(rows_.size()) >= kBatchRows) return CommitBuffered();
  return absl::OkStatus();
}

absl::Status FixtureLoader::CommitBuffered() {
  ASSIGN_OR_RETURN(
      bulk::BatchResult batch,
      store_->CommitBatch(Context(), spec_, state_.job_id, batch_start_,
                          next_row_, std::move(rows_), {}));
  rows_.clear();
  batch_start_ = next_row_;
  if (batch.rows_failed > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("fixture rows of ", spec_.table, " were refused (see ",
                     "batch_job_errors of job ", state_.job_id, ")"));
  }
  state_.Add(batch);
  return absl::OkStatus();
}

absl::Status FixtureLoader::End() {
  if (!rows_.empty()) RETURN_IF_ERROR(CommitBuffered());
  RETURN_IF_ERROR(store_->Finish(Context(), state_,
                                 bulk::LoadOutcome::kCompleted, "fixture"));
  return database_->Run(
      Context(), db::Access::kWrite, [&](pqxx::connection_base& connection) {
        // The job's delete cascades to bulk_loads.
        pqxx::nontransaction(connection)
            .exec_params("DELETE FROM batch_jobs WHERE id = $1", state_.job_id);
        return absl::OkStatus();
      });
}

}  // namespace aves::testing
