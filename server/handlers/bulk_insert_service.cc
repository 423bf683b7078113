#include "server/handlers/bulk_insert_service.h"

#include <cstdio>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <absl/strings/str_cat.h>
#include <openssl/rand.h>

#include "server/common/field_error.h"
#include "server/db/copy_text.h"
#include "server/handlers/access_log.h"
#include "server/handlers/call_context.h"
#include "server/handlers/grpc_status.h"
#include "server/handlers/validation.h"

namespace aves::handlers {

namespace v1 = aves::data::v1;

namespace {

constexpr char kMethod[] = "BulkInsertService.Insert";

// A random load id (UUID v4 form) for loads that did not name one.
std::string NewLoadId() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  char text[37];
  std::snprintf(text, sizeof text,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x"
                "%02x%02x",
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5],
                bytes[6], bytes[7], bytes[8], bytes[9], bytes[10], bytes[11],
                bytes[12], bytes[13], bytes[14], bytes[15]);
  return text;
}

// The API's cell as the encoder's value; INVALID_ARGUMENT for an empty cell.
absl::StatusOr<db::CellValue> ToCellValue(const v1::Cell& cell) {
  db::CellValue value;
  using Type = db::CellValue::Type;
  switch (cell.value_case()) {
    case v1::Cell::kNullValue:
      value.type = Type::kNull;
      break;
    case v1::Cell::kBoolValue:
      value.type = Type::kBool;
      value.bool_value = cell.bool_value();
      break;
    case v1::Cell::kInt64Value:
      value.type = Type::kInt64;
      value.int_value = cell.int64_value();
      break;
    case v1::Cell::kDoubleValue:
      value.type = Type::kDouble;
      value.double_value = cell.double_value();
      break;
    case v1::Cell::kStringValue:
      value.type = Type::kString;
      value.text = cell.string_value();
      break;
    case v1::Cell::kBytesValue:
      value.type = Type::kBytes;
      value.text = cell.bytes_value();
      break;
    case v1::Cell::kTimestampValue:
      value.type = Type::kTimestamp;
      value.time = absl::FromUnixSeconds(cell.timestamp_value().seconds()) +
                   absl::Nanoseconds(cell.timestamp_value().nanos());
      break;
    case v1::Cell::kUuidValue:
      value.type = Type::kUuid;
      value.text = cell.uuid_value();
      break;
    case v1::Cell::kJsonValue:
      value.type = Type::kJson;
      value.text = cell.json_value();
      break;
    case v1::Cell::VALUE_NOT_SET:
      return absl::InvalidArgumentError(
          "the cell has no value (use null_value)");
  }
  return value;
}

// One Insert call. Strictly one step at a time — read, commit (executor),
// write — so at most one batch of rows is held and no two callbacks race.
class InsertReactor final
    : public grpc::ServerBidiReactor<v1::InsertRequest, v1::InsertResponse> {
 public:
  InsertReactor(grpc::CallbackServerContext* context,
                BulkInsertServiceImpl& service, store::BulkLoadStore& store,
                common::Executor& executor, absl::Duration slow_rpc)
      : context_(context),
        service_(service),
        store_(store),
        executor_(executor),
        log_(kMethod, slow_rpc) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      if (context_->IsCancelled()) return EndLoad(Cancelled());
      if (!have_header_) {
        return FinishNow(absl::InvalidArgumentError(
            "header: the stream ended before its header"));
      }
      // End of input: commit what is left, then the summary.
      return RunOnExecutor([this] {
        absl::Status committed = CommitBuffered();
        if (!committed.ok()) return EndLoadOnExecutor(committed);
        absl::Status finished = store_.Finish(
            CallContextOf(context_, kMethod), state_, "completed",
            absl::StrCat(state_.committed_offset, " rows committed"));
        if (!finished.ok()) return FinishNow(finished);
        v1::InsertSummary* summary = response_.mutable_summary();
        summary->set_load_id(state_.load_id);
        summary->set_job_id(state_.job_id);
        FillProgress(summary->mutable_totals());
        after_write_ = AfterWrite::kFinish;
        StartWrite(&response_);
      });
    }
    if (!have_header_) {
      have_header_ = true;
      return RunOnExecutor([this] { Header(); });
    }
    if (!request_.has_rows()) {
      return EndLoad(common::InvalidField(
          "header", "sent twice: only the first message is a header"));
    }
    absl::Status added = AddRows(request_.rows());
    if (!added.ok()) return EndLoad(added);
    if (static_cast<int>(rows_.size() + rejected_.size()) < batch_rows_) {
      StartRead(&request_);
      return;
    }
    RunOnExecutor([this] {
      absl::Status committed = CommitBuffered();
      if (!committed.ok()) return EndLoadOnExecutor(committed);
      FillProgress(response_.mutable_progress());
      after_write_ = AfterWrite::kRead;
      StartWrite(&response_);
    });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return EndLoad(Cancelled());
    response_.Clear();
    if (after_write_ == AfterWrite::kFinish) return FinishNow(absl::OkStatus());
    StartRead(&request_);
  }

  void OnDone() override {
    log_.Done(final_status_, state_.rows_inserted);
    delete this;
  }

 private:
  enum class AfterWrite { kRead, kFinish };

  static absl::Status Cancelled() {
    return absl::CancelledError("the client cancelled the load");
  }

  // On the executor (the catalog may need loading, the load opening).
  void Header() {
    if (!request_.has_header()) {
      return FinishNow(common::InvalidField(
          "header", "the first message must be the header"));
    }
    const v1::InsertHeader& header = request_.header();
    absl::StatusOr<std::shared_ptr<const store::TableCatalog>> catalog =
        service_.Catalog();
    if (!catalog.ok()) return FinishNow(catalog.status());
    catalog_ = *std::move(catalog);
    absl::StatusOr<const store::TableInfo*> table =
        catalog_->Table("header.table", header.table());
    if (!table.ok()) return FinishNow(table.status());
    if (header.columns_size() == 0) {
      return FinishNow(common::InvalidField("header.columns", "required"));
    }
    std::vector<std::string> names(header.columns().begin(),
                                   header.columns().end());
    absl::StatusOr<std::vector<const store::ColumnInfo*>> columns =
        store::TableCatalog::Columns(**table, names, "header.columns");
    if (!columns.ok()) return FinishNow(columns.status());
    columns_ = *std::move(columns);
    if (header.mode() != v1::INSERT_MODE_INSERT) {
      return FinishNow(
          header.mode() == v1::INSERT_MODE_UNSPECIFIED
              ? common::InvalidField("header.mode", "required")
              : absl::UnimplementedError(
                    "header.mode: only INSERT is served so far (UPSERT and "
                    "RETURNING are coming)"));
    }
    if (header.atomic()) {
      return FinishNow(absl::UnimplementedError(
          "header.atomic: atomic loads are not served yet"));
    }
    if (header.batch_size() < 0 ||
        header.batch_size() > BulkInsertServiceImpl::kMaxBatchRows) {
      return FinishNow(common::InvalidField(
          "header.batch_size",
          absl::StrCat(header.batch_size(), " is outside [0, ",
                       BulkInsertServiceImpl::kMaxBatchRows, "]")));
    }
    if (header.batch_size() > 0) batch_rows_ = header.batch_size();
    if (header.total_rows() < 0) {
      return FinishNow(
          common::InvalidField("header.total_rows", "must not be negative"));
    }
    absl::Status load_id =
        ValidateText("header.load_id", header.load_id(), 200, false);
    if (!load_id.ok()) return FinishNow(load_id);
    spec_.load_id = header.load_id().empty() ? NewLoadId() : header.load_id();
    spec_.table = (*table)->name;
    for (const store::ColumnInfo* column : columns_)
      spec_.columns.push_back(column->name);
    spec_.mode = "insert";
    spec_.total_rows = header.total_rows();
    absl::StatusOr<store::LoadState> state =
        store_.Open(CallContextOf(context_, kMethod), spec_);
    if (!state.ok()) return FinishNow(state.status());
    state_ = *std::move(state);
    next_row_ = 0;
    // The client learns where the load stands before sending more.
    FillProgress(response_.mutable_progress());
    after_write_ = AfterWrite::kRead;
    StartWrite(&response_);
  }

  // Checks and encodes each row; rows the load already committed (a resume)
  // are only counted.
  absl::Status AddRows(const v1::RowChunk& chunk) {
    if (!started_rows_) {
      if (chunk.first_row() < 0 ||
          chunk.first_row() > state_.committed_offset) {
        return common::InvalidField(
            "rows.first_row",
            absl::StrCat(chunk.first_row(), ": the load has committed ",
                         state_.committed_offset,
                         " rows; start at or below that"));
      }
      started_rows_ = true;
      next_row_ = batch_start_ = chunk.first_row();
    } else if (chunk.first_row() != next_row_) {
      return common::InvalidField(
          "rows.first_row",
          absl::StrCat(chunk.first_row(), ": expected ", next_row_,
                       " (chunks must follow "
                       "each other)"));
    }
    for (const v1::Row& row : chunk.rows()) {
      const int64_t index = next_row_++;
      if (index < state_.committed_offset || state_.already_complete) continue;
      if (row.cells_size() != static_cast<int>(columns_.size())) {
        rejected_.push_back(
            {index, absl::StrCat("row ", index, ": ", row.cells_size(),
                                 " cells for ", columns_.size(), " columns")});
        continue;
      }
      std::string line;
      absl::Status bad;
      for (size_t c = 0; c < columns_.size() && bad.ok(); ++c) {
        if (c > 0) line.push_back('\t');
        absl::StatusOr<db::CellValue> value = ToCellValue(row.cells(c));
        if (!value.ok()) {
          bad = value.status();
        } else if (value->type == db::CellValue::Type::kNull &&
                   !columns_[c]->nullable) {
          bad = absl::InvalidArgumentError("NULL in a NOT NULL column");
        } else {
          bad = db::AppendCopyField(*value, columns_[c]->kind, &line);
        }
        if (!bad.ok()) {
          bad = absl::InvalidArgumentError(
              absl::StrCat("row ", index, ", column ", columns_[c]->name, ": ",
                           bad.message()));
        }
      }
      if (!bad.ok()) {
        rejected_.push_back({index, std::string(bad.message())});
        continue;
      }
      rows_.push_back({index, std::move(line)});
    }
    return absl::OkStatus();
  }

  // On the executor: commits the buffered rows as one batch.
  absl::Status CommitBuffered() {
    if (state_.already_complete || next_row_ <= batch_start_) {
      batch_start_ = next_row_;
      return absl::OkStatus();
    }
    absl::Status committed = store_.CommitBatch(
        CallContextOf(context_, kMethod), spec_, batch_start_, next_row_,
        std::move(rows_), std::move(rejected_), &state_);
    rows_.clear();
    rejected_.clear();
    if (committed.ok()) batch_start_ = next_row_;
    return committed;
  }

  void FillProgress(v1::InsertProgress* progress) const {
    progress->set_committed_offset(state_.committed_offset);
    progress->set_rows_inserted(state_.rows_inserted);
    progress->set_rows_failed(state_.rows_failed);
    progress->set_batches_committed(state_.batches_committed);
  }

  void RunOnExecutor(std::function<void()> step) {
    if (!executor_.Post(std::move(step))) {
      EndLoad(absl::ResourceExhaustedError(
          "server busy: too many calls queued for the database"));
    }
  }

  // Ends the load with `why`: its job records the offset and the reason
  // (cancelled for a client that left or ran out of time, failed
  // otherwise), then the call finishes with `why`.
  void EndLoad(absl::Status why) {
    if (state_.job_id.empty()) return FinishNow(why);
    if (!executor_.Post([this, why] { EndLoadOnExecutor(why); })) {
      FinishNow(why);
    }
  }

  void EndLoadOnExecutor(const absl::Status& why) {
    const bool cancelled = absl::IsCancelled(why) ||
                           absl::IsDeadlineExceeded(why) ||
                           context_->IsCancelled();
    db::CallContext bookkeeping;  // not the call's: it may be over already
    bookkeeping.deadline = absl::Now() + absl::Seconds(10);
    bookkeeping.holder = kMethod;
    (void)store_.Finish(bookkeeping, state_, cancelled ? "cancelled" : "failed",
                        std::string(why.message()));
    FinishNow(why);
  }

  void FinishNow(const absl::Status& status) {
    final_status_ = ToGrpcStatus(status);
    Finish(final_status_);
  }

  grpc::CallbackServerContext* const context_;
  BulkInsertServiceImpl& service_;
  std::shared_ptr<const store::TableCatalog> catalog_;
  store::BulkLoadStore& store_;
  common::Executor& executor_;
  AccessLog log_;

  v1::InsertRequest request_;
  v1::InsertResponse response_;
  AfterWrite after_write_ = AfterWrite::kRead;
  bool have_header_ = false;
  bool started_rows_ = false;  // the first chunk arrived
  std::vector<const store::ColumnInfo*> columns_;
  int batch_rows_ = BulkInsertServiceImpl::kDefaultBatchRows;
  store::LoadSpec spec_;
  store::LoadState state_;
  int64_t next_row_ = 0;     // number of the next row to arrive
  int64_t batch_start_ = 0;  // first row of the buffered batch
  std::vector<store::CopyRow> rows_;
  std::vector<store::RejectedRow> rejected_;
  grpc::Status final_status_;
};

}  // namespace

grpc::ServerBidiReactor<v1::InsertRequest, v1::InsertResponse>*
BulkInsertServiceImpl::Insert(grpc::CallbackServerContext* context) {
  return new InsertReactor(context, *this, store_, executor_, slow_rpc_);
}

absl::StatusOr<std::shared_ptr<const store::TableCatalog>>
BulkInsertServiceImpl::Catalog() {
  std::lock_guard<std::mutex> lock(catalog_mutex_);
  if (catalog_ != nullptr) return catalog_;
  absl::StatusOr<store::TableCatalog> loaded =
      absl::UnavailableError("catalog not read");
  db::CallContext context;
  context.deadline = absl::Now() + absl::Seconds(10);
  context.holder = "bulk-load catalog";
  absl::Status status = database_.Run(
      context, db::Access::kRead, [&](pqxx::connection& connection) {
        loaded = store::TableCatalog::Load(connection, allowed_tables_);
        return loaded.status();
      });
  if (!status.ok()) return status;
  catalog_ = std::make_shared<const store::TableCatalog>(*std::move(loaded));
  return catalog_;
}

}  // namespace aves::handlers
