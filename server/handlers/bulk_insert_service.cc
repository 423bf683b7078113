#include "server/handlers/bulk_insert_service.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <memory>
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
// Returned rows per response message: keeps messages far below the limit.
constexpr size_t kReturnedRowsPerMessage = 1000;

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
  using db::CellValue;
  switch (cell.value_case()) {
    case v1::Cell::kNullValue:
      return CellValue::Null();
    case v1::Cell::kBoolValue:
      return CellValue::Bool(cell.bool_value());
    case v1::Cell::kInt64Value:
      return CellValue::Int64(cell.int64_value());
    case v1::Cell::kDoubleValue:
      return CellValue::Double(cell.double_value());
    case v1::Cell::kStringValue:
      return CellValue::String(cell.string_value());
    case v1::Cell::kBytesValue:
      return CellValue::Text(CellValue::Type::kBytes, cell.bytes_value());
    case v1::Cell::kTimestampValue:
      return CellValue::Timestamp(
          absl::FromUnixSeconds(cell.timestamp_value().seconds()) +
          absl::Nanoseconds(cell.timestamp_value().nanos()));
    case v1::Cell::kUuidValue:
      return CellValue::Uuid(cell.uuid_value());
    case v1::Cell::kJsonValue:
      return CellValue::Json(cell.json_value());
    case v1::Cell::VALUE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("the cell has no value (use null_value)");
}

// A batch on its way to the database.
struct Batch {
  int64_t first = 0;
  int64_t end = 0;
  std::vector<store::CopyRow> rows;
  std::vector<store::RejectedRow> rejected;
};

// One Insert call. Reading and committing overlap: up to `parallel` batches
// commit at once on the executor, each on its own pooled connection (so
// PostgreSQL parses and indexes them on several cores), while the next is
// read and encoded; once it is full too, reading pauses until a commit ends.
// So a stream holds at most parallel + 1 batches, and a loader faster than
// the database is slowed by gRPC flow control. Upserts and RETURNING loads
// commit one batch at a time: a later row must win over an earlier one, and
// returned rows go back in order. Progress messages queue behind one write
// in flight.
class InsertReactor final
    : public grpc::ServerBidiReactor<v1::InsertRequest, v1::InsertResponse> {
 public:
  InsertReactor(grpc::CallbackServerContext* context,
                BulkInsertServiceImpl& service, store::BulkLoadStore& store,
                common::Executor& executor,
                BulkInsertServiceImpl::Limits limits, absl::Duration slow_rpc)
      : context_(context),
        service_(service),
        store_(store),
        executor_(executor),
        limits_(limits),
        log_(kMethod, slow_rpc) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (ending_) return;
      if (context_->IsCancelled()) return EndLoadLocked(Cancelled());
      if (!have_header_) {
        return FinishLocked(common::InvalidField(
            "header", "the stream ended before its header"));
      }
      input_done_ = true;
      return CommitOrEndLocked();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (ending_) return;
    if (!have_header_) {
      have_header_ = true;
      if (!executor_.Post([this] { Header(); })) {
        FinishLocked(absl::ResourceExhaustedError(
            "server busy: too many calls queued for the database"));
      }
      return;
    }
    if (!request_.has_rows()) {
      return EndLoadLocked(common::InvalidField(
          "header", "sent twice: only the first message is a header"));
    }
    absl::Status added = AddRows(request_.rows());
    if (!added.ok()) return EndLoadLocked(added);
    // All or nothing: the first bad row ends an atomic load.
    if (atomic_ && !rejected_.empty()) {
      return EndLoadLocked(
          absl::InvalidArgumentError(rejected_.front().message));
    }
    if (Full()) {
      if (in_flight_ >= max_in_flight_) {
        read_paused_ = true;  // resumed when a commit ends
        return;
      }
      StartCommitLocked();
    }
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mutex_);
    writing_ = false;
    if (!ok) {
      if (!ending_) EndLoadLocked(Cancelled());
      if (pending_finish_.has_value()) FinishLocked(*pending_finish_);
      return;
    }
    if (!writes_.empty()) return WriteNextLocked();
    if (pending_finish_.has_value()) FinishLocked(*pending_finish_);
  }

  void OnDone() override {
    {
      // Whoever called Finish may still be unlocking: wait for it.
      std::lock_guard<std::mutex> lock(mutex_);
    }
    log_.Done(final_status_, state_.rows_inserted);
    delete this;
  }

 private:
  static absl::Status Cancelled() {
    return absl::CancelledError("the client cancelled the load");
  }

  bool Full() const {
    return static_cast<int>(rows_.size() + rejected_.size()) >= batch_rows_;
  }

  // On the executor (the catalog may need loading, the load opening).
  void Header() {
    if (!request_.has_header()) {
      return FinishWithoutLoad(common::InvalidField(
          "header", "the first message must be the header"));
    }
    const v1::InsertHeader& header = request_.header();
    absl::StatusOr<std::shared_ptr<const store::TableCatalog>> catalog =
        service_.Catalog();
    if (!catalog.ok()) return FinishWithoutLoad(catalog.status());
    catalog_ = *std::move(catalog);
    absl::StatusOr<const store::TableInfo*> table =
        catalog_->Table("header.table", header.table());
    if (!table.ok()) return FinishWithoutLoad(table.status());
    if (header.columns_size() == 0) {
      return FinishWithoutLoad(
          common::InvalidField("header.columns", "required"));
    }
    std::vector<std::string> names(header.columns().begin(),
                                   header.columns().end());
    absl::StatusOr<std::vector<const store::ColumnInfo*>> columns =
        store::TableCatalog::Columns(**table, names, "header.columns");
    if (!columns.ok()) return FinishWithoutLoad(columns.status());
    columns_ = *std::move(columns);
    switch (header.mode()) {
      case v1::INSERT_MODE_INSERT:
        spec_.mode = "insert";
        break;
      case v1::INSERT_MODE_UPSERT: {
        spec_.mode = "upsert";
        absl::Status target = UpsertTarget(header, **table);
        if (!target.ok()) return FinishWithoutLoad(target);
        break;
      }
      case v1::INSERT_MODE_RETURNING: {
        spec_.mode = "returning";
        if (header.returning_columns_size() == 0) {
          return FinishWithoutLoad(
              common::InvalidField("header.returning_columns",
                                   "RETURNING needs the columns to send back"));
        }
        std::vector<std::string> back(header.returning_columns().begin(),
                                      header.returning_columns().end());
        absl::StatusOr<std::vector<const store::ColumnInfo*>> resolved =
            store::TableCatalog::Columns(**table, back,
                                         "header.returning_columns");
        if (!resolved.ok()) return FinishWithoutLoad(resolved.status());
        if (header.atomic()) {
          // Returned rows stream back per batch; an atomic load would have
          // to hold them all until it publishes.
          return FinishWithoutLoad(absl::UnimplementedError(
              "header.atomic: RETURNING loads commit per batch"));
        }
        spec_.returning_columns = std::move(back);
        break;
      }
      default:
        return FinishWithoutLoad(common::InvalidField(
            "header.mode", header.mode() == v1::INSERT_MODE_UNSPECIFIED
                               ? "required"
                               : "unknown mode"));
    }
    atomic_ = header.atomic();
    // Staged rows carry their numbers, so staging may run in parallel too.
    max_in_flight_ =
        spec_.mode == "insert" || atomic_ ? limits_.parallel_batches : 1;
    if (header.batch_size() < 0 ||
        header.batch_size() > limits_.max_batch_rows) {
      return FinishWithoutLoad(common::InvalidField(
          "header.batch_size",
          absl::StrCat(header.batch_size(), " is outside [0, ",
                       limits_.max_batch_rows, "]")));
    }
    batch_rows_ = header.batch_size() > 0
                      ? header.batch_size()
                      : std::min(BulkInsertServiceImpl::kDefaultBatchRows,
                                 limits_.max_batch_rows);
    if (header.total_rows() < 0) {
      return FinishWithoutLoad(
          common::InvalidField("header.total_rows", "must not be negative"));
    }
    absl::Status load_id =
        ValidateText("header.load_id", header.load_id(), 200, false);
    if (!load_id.ok()) return FinishWithoutLoad(load_id);
    spec_.load_id = header.load_id().empty() ? NewLoadId() : header.load_id();
    spec_.table = (*table)->name;
    for (const store::ColumnInfo* column : columns_)
      spec_.columns.push_back(column->name);
    spec_.total_rows = header.total_rows();
    absl::StatusOr<store::LoadState> state =
        store_.Open(CallContextOf(context_, kMethod), spec_);
    if (!state.ok()) return FinishWithoutLoad(state.status());
    if (atomic_ && !state->already_complete) {
      absl::Status staged =
          store_.CreateStage(CallContextOf(context_, kMethod), spec_);
      if (!staged.ok()) return FinishWithoutLoad(staged);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = *std::move(state);
    // The client learns where the load stands before sending rows.
    v1::InsertResponse progress;
    FillProgress(progress.mutable_progress());
    WriteLocked(std::move(progress));
    StartRead(&request_);
  }

  // UPSERT's conflict target and the columns it updates: catalog columns
  // that the rows give; an updated column cannot be part of the target.
  absl::Status UpsertTarget(const v1::InsertHeader& header,
                            const store::TableInfo& table) {
    auto given = [&](const std::string& name) {
      return std::find(header.columns().begin(), header.columns().end(),
                       name) != header.columns().end();
    };
    if (header.conflict_columns_size() == 0) {
      return common::InvalidField("header.conflict_columns",
                                  "UPSERT needs the unique columns to meet on");
    }
    for (const auto& [field, names] :
         {std::pair{"header.conflict_columns", &header.conflict_columns()},
          std::pair{"header.update_columns", &header.update_columns()}}) {
      std::vector<std::string> list(names->begin(), names->end());
      absl::StatusOr<std::vector<const store::ColumnInfo*>> resolved =
          store::TableCatalog::Columns(table, list, field);
      if (!resolved.ok()) return resolved.status();
      for (size_t i = 0; i < list.size(); ++i) {
        if (!given(list[i])) {
          return common::InvalidField(
              absl::StrCat(field, "[", i, "]"),
              absl::StrCat("'", list[i], "' is not one of header.columns"));
        }
      }
    }
    for (int i = 0; i < header.update_columns_size(); ++i) {
      if (std::find(header.conflict_columns().begin(),
                    header.conflict_columns().end(),
                    header.update_columns(i)) !=
          header.conflict_columns().end()) {
        return common::InvalidField(
            absl::StrCat("header.update_columns[", i, "]"),
            "a conflict column cannot be updated");
      }
    }
    spec_.conflict_columns.assign(header.conflict_columns().begin(),
                                  header.conflict_columns().end());
    spec_.update_columns.assign(header.update_columns().begin(),
                                header.update_columns().end());
    return absl::OkStatus();
  }

  // A refusal before any load exists (bad header): nothing to record.
  void FinishWithoutLoad(const absl::Status& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    ending_ = true;
    FinishLocked(status);
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
      if (state_.already_complete || state_.Committed(index)) continue;
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

  // Hands the buffered rows to the executor as one batch.
  void StartCommitLocked() {
    ++in_flight_;
    auto batch = std::make_shared<Batch>();
    batch->first = batch_start_;
    batch->end = next_row_;
    batch->rows = std::move(rows_);
    batch->rejected = std::move(rejected_);
    rows_.clear();
    rejected_.clear();
    batch_start_ = next_row_;
    if (!executor_.Post([this, batch] { Commit(*batch); })) {
      --in_flight_;
      EndLoadLocked(absl::ResourceExhaustedError(
          "server busy: too many calls queued for the database"));
    }
  }

  // On the executor.
  void Commit(Batch& batch) {
    absl::Status committed = absl::OkStatus();
    if (atomic_) {
      // Staged, not committed: progress is reported once, at the end.
      // (A load finished before has no stage, and no rows to stage.)
      if (!batch.rows.empty()) {
        committed = store_.StageRows(CallContextOf(context_, kMethod), spec_,
                                     state_.job_id, batch.rows);
      }
      std::lock_guard<std::mutex> lock(mutex_);
      --in_flight_;
      if (ending_) return RecordEndWhenIdleLocked();
      if (!committed.ok()) return EndLoadLocked(committed);
      return AfterCommitLocked();
    }
    std::vector<store::ReturnedRow> returned;
    absl::StatusOr<store::BatchResult> result = store::BatchResult{};
    // job_id and already_complete are set in Header() and only read since.
    if (!state_.already_complete && batch.end > batch.first) {
      result = store_.CommitBatch(
          CallContextOf(context_, kMethod), spec_, state_.job_id, batch.first,
          batch.end, std::move(batch.rows), std::move(batch.rejected),
          spec_.mode == "returning" ? &returned : nullptr);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    --in_flight_;
    if (result.ok()) state_.Add(*result);
    // The load was ending while this batch committed (a cancel, a bad
    // header, another batch's error): once no batch is in flight, its end
    // can be recorded.
    if (ending_) return RecordEndWhenIdleLocked();
    if (!result.ok()) return EndLoadLocked(result.status());
    // The batch's returned rows go out before its progress, in messages of
    // at most kReturnedRowsPerMessage rows.
    for (size_t i = 0; i < returned.size(); i += kReturnedRowsPerMessage) {
      v1::InsertResponse message;
      v1::ReturnedRows* rows = message.mutable_returned();
      rows->set_first_row(returned[i].index);
      for (size_t j = i; j < returned.size() && j < i + kReturnedRowsPerMessage;
           ++j) {
        rows->add_row_numbers(returned[j].index);
        v1::Row* row = rows->add_rows();
        for (const std::optional<std::string>& value : returned[j].values) {
          if (value.has_value()) {
            row->add_cells()->set_string_value(*value);
          } else {
            row->add_cells()->set_null_value({});
          }
        }
      }
      WriteLocked(std::move(message));
    }
    v1::InsertResponse progress;
    FillProgress(progress.mutable_progress());
    WriteLocked(std::move(progress));
    AfterCommitLocked();
  }

  // A batch is done: resume reading, or finish the input's tail.
  void AfterCommitLocked() {
    if (read_paused_) {
      read_paused_ = false;
      if (Full()) StartCommitLocked();
      StartRead(&request_);
    } else if (input_done_) {
      CommitOrEndLocked();
    }
  }

  // After the input ended: commit what is left, or end the load once every
  // batch has committed.
  void CommitOrEndLocked() {
    if (next_row_ > batch_start_ && in_flight_ < max_in_flight_)
      StartCommitLocked();
    if (in_flight_ > 0) return;  // Commit() comes back here
    ending_ = true;
    if (!executor_.Post([this] { Complete(); })) {
      FinishLocked(absl::ResourceExhaustedError(
          "server busy: too many calls queued for the database"));
    }
  }

  // On the executor: the job completes, the summary goes out last.
  void Complete() {
    if (atomic_ && !state_.already_complete) {
      absl::Status published = store_.PublishStage(
          CallContextOf(context_, kMethod), spec_, next_row_, &state_);
      if (!published.ok()) {
        std::lock_guard<std::mutex> lock(mutex_);
        end_reason_ = published;
        return RecordEndLocked();
      }
    }
    absl::Status finished =
        store_.Finish(CallContextOf(context_, kMethod), state_, "completed",
                      absl::StrCat(state_.committed_offset, " rows committed"));
    std::lock_guard<std::mutex> lock(mutex_);
    if (!finished.ok()) return FinishLocked(finished);
    v1::InsertResponse summary;
    summary.mutable_summary()->set_load_id(state_.load_id);
    summary.mutable_summary()->set_job_id(state_.job_id);
    FillProgress(summary.mutable_summary()->mutable_totals());
    WriteLocked(std::move(summary));
    FinishLocked(absl::OkStatus());  // after the queued writes
  }

  void FillProgress(v1::InsertProgress* progress) const {
    progress->set_committed_offset(state_.committed_offset);
    progress->set_rows_inserted(state_.rows_inserted);
    progress->set_rows_updated(state_.rows_updated);
    progress->set_rows_failed(state_.rows_failed);
    progress->set_batches_committed(state_.batches_committed);
  }

  void WriteLocked(v1::InsertResponse response) {
    writes_.push_back(std::move(response));
    if (!writing_) WriteNextLocked();
  }

  void WriteNextLocked() {
    writing_ = true;
    current_write_ = std::move(writes_.front());
    writes_.pop_front();
    StartWrite(&current_write_);
  }

  // Ends the load with `why`: its job records the offset and the reason
  // (cancelled for a client that left or ran out of time, failed
  // otherwise), then the call finishes with `why`. Commits in flight
  // finish first (they hold this call's rows).
  void EndLoadLocked(const absl::Status& why) {
    if (ending_) return;
    ending_ = true;
    end_reason_ = why;
    RecordEndWhenIdleLocked();
  }

  void RecordEndWhenIdleLocked() {
    if (in_flight_ > 0) return;  // the last Commit() comes back here
    RecordEndLocked();
  }

  void RecordEndLocked() {
    if (state_.job_id.empty()) return FinishLocked(end_reason_);
    if (!executor_.Post([this, why = end_reason_] { RecordEnd(why); })) {
      FinishLocked(end_reason_);
    }
  }

  // On the executor.
  void RecordEnd(const absl::Status& why) {
    const bool cancelled = absl::IsCancelled(why) ||
                           absl::IsDeadlineExceeded(why) ||
                           context_->IsCancelled();
    db::CallContext bookkeeping;  // not the call's: it may be over already
    bookkeeping.deadline = absl::Now() + absl::Seconds(10);
    bookkeeping.holder = kMethod;
    // An atomic load leaves nothing behind.
    if (atomic_) (void)store_.DropStage(bookkeeping, spec_);
    (void)store_.Finish(bookkeeping, state_, cancelled ? "cancelled" : "failed",
                        std::string(why.message()));
    std::lock_guard<std::mutex> lock(mutex_);
    FinishLocked(why);
  }

  // Finishes once every queued write is out (or at once on an error).
  void FinishLocked(const absl::Status& status) {
    if (finished_) return;
    if (status.ok() && (writing_ || !writes_.empty())) {
      pending_finish_ = status;
      return;
    }
    finished_ = true;
    writes_.clear();
    final_status_ = ToGrpcStatus(status);
    Finish(final_status_);
  }

  grpc::CallbackServerContext* const context_;
  BulkInsertServiceImpl& service_;
  store::BulkLoadStore& store_;
  common::Executor& executor_;
  const BulkInsertServiceImpl::Limits limits_;
  AccessLog log_;

  std::mutex mutex_;
  std::shared_ptr<const store::TableCatalog> catalog_;
  v1::InsertRequest request_;
  std::deque<v1::InsertResponse> writes_;
  v1::InsertResponse current_write_;
  bool writing_ = false;
  bool have_header_ = false;
  bool atomic_ = false;        // all or nothing (staged, published at the end)
  bool started_rows_ = false;  // the first chunk arrived
  int in_flight_ = 0;          // batches on the executor
  int max_in_flight_ = 1;      // limits_.parallel_batches, or 1 (see above)
  bool read_paused_ = false;   // a full batch waits for a commit to end
  bool input_done_ = false;    // the client half-closed
  bool ending_ = false;
  bool finished_ = false;
  absl::Status end_reason_;
  std::optional<absl::Status> pending_finish_;
  std::vector<const store::ColumnInfo*> columns_;
  int batch_rows_ = BulkInsertServiceImpl::kDefaultBatchRows;
  store::LoadSpec spec_;
  store::LoadState state_;
  int64_t next_row_ = 0;     // number of the next row to arrive
  int64_t batch_start_ = 0;  // first row of the batch being filled
  std::vector<store::CopyRow> rows_;
  std::vector<store::RejectedRow> rejected_;
  grpc::Status final_status_;
};

}  // namespace

grpc::ServerBidiReactor<v1::InsertRequest, v1::InsertResponse>*
BulkInsertServiceImpl::Insert(grpc::CallbackServerContext* context) {
  return new InsertReactor(context, *this, store_, executor_, limits_,
                           slow_rpc_);
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
