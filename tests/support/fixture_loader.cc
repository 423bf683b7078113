#include "tests/support/fixture_loader.h"

#include <utility>

#include <absl/strings/str_cat.h>
#include <pqxx/pqxx>

#include "server/common/status_macros.h"

namespace aves::testing {
namespace {

db::CallContext Context() {
  db::CallContext context;
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
  loader->store_ = std::make_unique<store::BulkLoadStore>(*loader->database_);
  absl::StatusOr<store::TableCatalog> catalog =
      absl::UnavailableError("catalog not read");
  RETURN_IF_ERROR(loader->database_->Run(
      Context(), db::Access::kRead, [&](pqxx::connection& connection) {
        catalog = store::TableCatalog::Load(
            connection, store::TableCatalog::DefaultTables());
        return catalog.status();
      }));
  loader->catalog_ = *std::move(catalog);
  return loader;
}

FixtureLoader::~FixtureLoader() = default;

absl::Status FixtureLoader::Begin(const std::string& table,
                                  const std::vector<std::string>& columns) {
  ASSIGN_OR_RETURN(const store::TableInfo* info,
                   catalog_->Table("table", table));
  ASSIGN_OR_RETURN(columns_,
                   store::TableCatalog::Columns(*info, columns, "columns"));
  spec_ = store::LoadSpec{};
  spec_.load_id = absl::StrCat("fixture-", table, "-", ++loads_, "-",
                               absl::ToUnixNanos(absl::Now()));
  spec_.table = info->name;
  spec_.columns = columns;
  ASSIGN_OR_RETURN(state_, store_->Open(Context(), spec_));
  rows_.clear();
  next_row_ = batch_start_ = 0;
  return absl::OkStatus();
}

absl::Status FixtureLoader::Add(const std::vector<db::CellValue>& row) {
  if (row.size() != columns_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec_.table, " row ", next_row_, ": ", row.size(),
                     " cells for ", columns_.size(), " columns"));
  }
  std::string line;
  for (size_t c = 0; c < row.size(); ++c) {
    if (c > 0) line.push_back('\t');
    absl::Status encoded =
        db::AppendCopyField(row[c], columns_[c]->kind, &line);
    if (!encoded.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec_.table, " row ", next_row_, ", column ",
                       columns_[c]->name, ": ", encoded.message()));
    }
  }
  rows_.push_back({next_row_++, std::move(line)});
  if (static_cast<int>(rows_.size()) >= kBatchRows) return CommitBuffered();
  return absl::OkStatus();
}

absl::Status FixtureLoader::CommitBuffered() {
  ASSIGN_OR_RETURN(
      store::BatchResult batch,
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
  RETURN_IF_ERROR(store_->Finish(Context(), state_, "completed", "fixture"));
  return database_->Run(
      Context(), db::Access::kWrite, [&](pqxx::connection& connection) {
        // The job's delete cascades to bulk_loads.
        pqxx::nontransaction(connection)
            .exec_params("DELETE FROM batch_jobs WHERE id = $1", state_.job_id);
        return absl::OkStatus();
      });
}

}  // namespace aves::testing
