#include "server/bulk/loader.h"

#include <algorithm>
#include <utility>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>

#include "server/common/executor.h"
#include "server/common/field_error.h"

namespace aves::bulk {
namespace {

absl::Status ClientCancelled() {
  return absl::CancelledError("the client cancelled the load");
}

}  // namespace

int64_t ReturnedRowBytes(const ReturnedRow& row) {
  // Row number and row: tag, length and varint each; a cell: tag, length,
  // its value's tag and length.
  int64_t bytes = 24;
  for (const std::optional<std::string>& value : row.values) {
    bytes += 16 + static_cast<int64_t>(value.has_value() ? value->size() : 0);
  }
  return bytes;
}

Loader::Loader(LoadStream& stream, LoadStore& store, LoadLimits limits,
               Caller caller, BulkMetrics* metrics)
    : stream_(stream),
      store_(store),
      limits_(limits),
      caller_(std::move(caller)),
      metrics_(metrics) {}

Loader::~Loader() {
  std::lock_guard<std::mutex> lock(mutex_);
  // However the call ended, this process stops renewing the load's lease.
  if (!state_.job_id.empty()) store_.ReleaseLease(state_.job_id);
  if (counted_open_) metrics_->LoadEnded();
}

void Loader::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  stream_.StartRead();
}

int64_t Loader::rows_inserted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_.rows_inserted;
}

bool Loader::FullLocked() const {
  return static_cast<int64_t>(rows_.size() + rejected_.size()) >=
             spec_.batch_rows ||
         buffered_bytes_ >= batch_bytes();
}

int64_t Loader::batch_bytes() const {
  // Room for every committing batch, one waiting, and the one being filled.
  return std::max<int64_t>(1, limits_.max_stream_bytes / (max_in_flight_ + 2));
}

void Loader::CutBatchLocked() {
  auto batch = std::make_shared<Batch>();
  batch->first = batch_start_;
  batch->end = next_row_;
  batch->rows = std::move(rows_);
  batch->rejected = std::move(rejected_);
  batch->bytes = buffered_bytes_;
  rows_.clear();
  rejected_.clear();
  buffered_bytes_ = 0;
  batch_start_ = next_row_;
  waiting_.push_back(std::move(batch));
}

void Loader::StartWaitingLocked() {
  while (!ending_ && !waiting_.empty() && in_flight_ < max_in_flight_) {
    StartCommitLocked();
  }
}

bool Loader::MayReadLocked() const {
  return waiting_.empty() && held_bytes_ < limits_.max_stream_bytes;
}

void Loader::ReadOrPauseLocked() {
  if (MayReadLocked()) return stream_.StartRead();
  read_paused_ = true;  // ResumeReadingLocked reads again
}

void Loader::ResumeReadingLocked() {
  if (!read_paused_ || ending_ || !MayReadLocked()) return;
  read_paused_ = false;
  stream_.StartRead();
}

void Loader::OnHeader(LoadRequest header) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ending_) return;
  if (have_header_) {
    return EndLoadLocked(common::InvalidField(
        "header", "sent twice: only the first message is a header"));
  }
  have_header_ = true;
  if (!stream_.Post([this, header = std::move(header)]() mutable {
        OpenLoad(std::move(header));
      })) {
    FinishLocked(common::ExecutorFullError());
  }
}

void Loader::OnOtherMessage() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ending_) return;
  if (!have_header_) return RefuseHeaderlessLocked();
  EndLoadLocked(common::InvalidField(
      "header", "sent twice: only the first message is a header"));
}

void Loader::OnUnparsableMessage() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ending_) return;
  EndCallLocked(absl::InvalidArgumentError(
      "a message of the stream is not an InsertRequest (not protobuf wire "
      "format, a truncated field, or invalid UTF-8 in a string field)"));
}

void Loader::OnExecutorFull() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ending_) return;
  EndCallLocked(common::ExecutorFullError());
}

void Loader::OnIdle() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ending_) return;
  EndCallLocked(absl::DeadlineExceededError(
      absl::StrCat("the stream sent nothing for ",
                   absl::FormatDuration(limits_.idle_timeout),
                   " (AVES_BULK_IDLE_TIMEOUT_MS); the load can be resumed")));
}

void Loader::EndCallLocked(const absl::Status& why) {
  if (have_header_) return EndLoadLocked(why);
  ending_ = true;  // no load yet: nothing to record
  FinishLocked(why);
}

void Loader::RefuseHeaderlessLocked() {
  ending_ = true;
  FinishLocked(
      common::InvalidField("header", "the first message must be the header"));
}

void Loader::OnRows(const RowChunkView& chunk) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ending_) return;
  if (!have_header_) return RefuseHeaderlessLocked();
  if (absl::Status added = AddRowsLocked(chunk); !added.ok()) {
    return EndLoadLocked(added);
  }
  StartWaitingLocked();
  if (!ending_) ReadOrPauseLocked();
}

void Loader::OnReadsEnded() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ending_) return;
  if (stream_.Cancelled()) return EndLoadLocked(ClientCancelled());
  if (!have_header_) {
    return FinishLocked(
        common::InvalidField("header", "the stream ended before its header"));
  }
  input_done_ = true;
  CommitOrEndLocked();
}

void Loader::OnWriteDone(bool ok) {
  std::lock_guard<std::mutex> lock(mutex_);
  writing_ = false;
  held_bytes_ -= std::exchange(writing_bytes_, 0);
  if (!ok) {
    if (!ending_) EndLoadLocked(ClientCancelled());
    if (pending_finish_.has_value()) FinishLocked(*pending_finish_);
    return;
  }
  // A write started after the reads ended has reached a client that is
  // still there: the end was its half-close, not a cancel.
  if (write_after_input_) end_confirmed_ = true;
  ResumeReadingLocked();
  if (!writes_.empty()) return WriteNextLocked();
  if (pending_finish_.has_value()) return FinishLocked(*pending_finish_);
  if (input_done_ && !ending_ && in_flight_ == 0) CommitOrEndLocked();
}

void Loader::OpenLoad(LoadRequest request) {
  absl::StatusOr<std::shared_ptr<const TableCatalog>> catalog =
      store_.Catalog();
  if (!catalog.ok()) return FinishWithoutLoad(catalog.status());
  absl::StatusOr<ValidatedHeader> header =
      ValidateHeader(request, **catalog, limits_.header);
  if (!header.ok()) return FinishWithoutLoad(header.status());
  header->spec.created_by = caller_.subject;
  const LoadSpec& spec = header->spec;
  if (caller_.may_write) {
    if (absl::Status allowed = caller_.may_write(spec.table); !allowed.ok())
      return FinishWithoutLoad(allowed);
  }
  absl::StatusOr<LoadState> state = store_.Open(stream_.Context(), spec);
  if (!state.ok()) return FinishWithoutLoad(state.status());
  if (spec.atomic && !state->already_complete) {
    absl::Status staged =
        store_.CreateStage(stream_.Context(), spec, state->job_id);
    if (!staged.ok()) {
      // The attempt ends here; its job says why.
      (void)store_.Finish(stream_.Context(), *state, LoadOutcome::kFailed,
                          std::string(staged.message()));
      return FinishWithoutLoad(staged);
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  catalog_ = *std::move(catalog);
  spec_ = header->spec;
  encoder_ = RowEncoder(std::move(header->columns));
  // Staged rows carry their numbers, so staging may run in parallel too.
  max_in_flight_ = spec_.mode == LoadMode::kInsert || spec_.atomic
                       ? limits_.parallel_batches
                       : 1;
  state_ = *std::move(state);
  if (metrics_ != nullptr) {
    metrics_->LoadStarted();
    counted_open_ = true;
  }
  // The client learns where the load stands before sending rows.
  SendLocked(LoadMessage::Progress(ProgressLocked()));
  stream_.StartRead();
}

void Loader::FinishWithoutLoad(const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ending_ = true;
  FinishLocked(status);
}

absl::Status Loader::AddRowsLocked(const RowChunkView& chunk) {
  if (!started_rows_) {
    if (chunk.first_row() < 0 || chunk.first_row() > state_.committed_offset) {
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
                     " (chunks must follow each other)"));
  }
  for (int r = 0; r < chunk.rows(); ++r) {
    const int64_t index = next_row_++;
    if (state_.already_complete && index >= state_.committed_offset) {
      // A completed load's job is final: more rows are a new load, never
      // silently dropped.
      return absl::FailedPreconditionError(
          absl::StrCat("load ", state_.load_id, " was completed with ",
                       state_.committed_offset, " rows; row ", index,
                       " and later need a new load id"));
    }
    if (state_.Committed(index)) continue;
    std::string line;
    absl::Status encoded = encoder_.Encode(
        index, chunk.cells(r), [&](int c) { return chunk.cell(r, c); }, &line);
    int64_t bytes = 0;
    if (encoded.ok()) {
      bytes = static_cast<int64_t>(line.size()) + 1;  // and its newline
      rows_.push_back({index, std::move(line)});
    } else {
      // All or nothing: the first bad row ends an atomic load.
      if (spec_.atomic) {
        return absl::InvalidArgumentError(encoded.message());
      }
      bytes = static_cast<int64_t>(encoded.message().size());
      rejected_.push_back({index, std::string(encoded.message())});
    }
    buffered_bytes_ += bytes;
    held_bytes_ += bytes;
    if (FullLocked()) CutBatchLocked();
  }
  return absl::OkStatus();
}

void Loader::StartCommitLocked() {
  ++in_flight_;
  std::shared_ptr<Batch> batch = std::move(waiting_.front());
  waiting_.pop_front();
  if (!stream_.Post([this, batch] { Commit(*batch); })) {
    --in_flight_;
    EndLoadLocked(common::ExecutorFullError());
  }
}

void Loader::Commit(Batch& batch) {
  if (spec_.atomic) {
    // Staged, not committed: progress is reported once, at the end. (A load
    // finished before has no stage, and no rows to stage.)
    absl::Status staged = absl::OkStatus();
    if (!batch.rows.empty()) {
      const absl::Time start = absl::Now();
      staged =
          store_.StageRows(stream_.Context(), spec_, state_.job_id, batch.rows);
      if (staged.ok() && metrics_ != nullptr) {
        metrics_->BatchCommitted(spec_.table, spec_.mode, absl::Now() - start);
      }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    --in_flight_;
    held_bytes_ -= batch.bytes;
    if (ending_) return RecordEndWhenIdleLocked();
    if (!staged.ok()) return EndLoadLocked(staged);
    return AfterCommitLocked();
  }
  std::vector<ReturnedRow> returned;
  absl::StatusOr<BatchResult> result = BatchResult{};
  // job_id and already_complete are set by OpenLoad and only read since.
  // A completed RETURNING load still answers resent rows with what they
  // returned.
  if ((!state_.already_complete || spec_.mode == LoadMode::kReturning) &&
      batch.end > batch.first) {
    const absl::Time start = absl::Now();
    result = store_.CommitBatch(
        stream_.Context(), spec_, state_.job_id, batch.first, batch.end,
        std::move(batch.rows), std::move(batch.rejected),
        spec_.mode == LoadMode::kReturning ? &returned : nullptr);
    if (result.ok() && result->wrote && metrics_ != nullptr) {
      metrics_->BatchCommitted(spec_.table, spec_.mode, absl::Now() - start);
      metrics_->RowsCommitted(spec_.table, spec_.mode, result->rows_inserted,
                              result->rows_updated, result->rows_failed);
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  --in_flight_;
  held_bytes_ -= batch.bytes;
  if (result.ok()) state_.Add(*result);
  // The load was ending while this batch committed (a cancel, a bad message,
  // another batch's error): once no batch is in flight, its end can be
  // recorded.
  if (ending_) return RecordEndWhenIdleLocked();
  if (!result.ok()) return EndLoadLocked(result.status());
  // The batch's returned rows go out before its progress, in messages
  // bounded in rows and bytes (one row always fits). Until written they
  // count as held: a client that does not read them stops the load's reads.
  LoadMessage message;
  message.kind = LoadMessage::Kind::kReturned;
  for (ReturnedRow& row : returned) {
    const int64_t bytes = ReturnedRowBytes(row);
    if (!message.returned.empty() &&
        (message.returned.size() >= kReturnedRowsPerMessage ||
         message.bytes + bytes > limits_.max_returned_message_bytes)) {
      SendLocked(std::exchange(message, LoadMessage{}));
      message.kind = LoadMessage::Kind::kReturned;
    }
    message.returned.push_back(std::move(row));
    message.bytes += bytes;
  }
  if (!message.returned.empty()) SendLocked(std::move(message));
  SendLocked(LoadMessage::Progress(ProgressLocked()));
  AfterCommitLocked();
}

void Loader::AfterCommitLocked() {
  StartWaitingLocked();
  if (read_paused_) {
    ResumeReadingLocked();
  } else if (input_done_) {
    CommitOrEndLocked();
  }
}

void Loader::CommitOrEndLocked() {
  if (next_row_ > batch_start_) CutBatchLocked();
  StartWaitingLocked();
  if (in_flight_ > 0 || !waiting_.empty()) return;  // Commit() comes back
  // Reads end alike on a half-close and on a cancel that gRPC has not
  // reported yet (a client's RST_STREAM); only a write that succeeds after
  // the end tells them apart. Until one has, the load does not complete: a
  // progress message goes out (unless one is on its way) and OnWriteDone
  // comes back here.
  if (!end_confirmed_) {
    if (!writing_ && writes_.empty()) {
      SendLocked(LoadMessage::Progress(ProgressLocked()));
    }
    return;
  }
  ending_ = true;
  if (!stream_.Post([this] { Complete(); })) {
    FinishLocked(common::ExecutorFullError());
  }
}

void Loader::Complete() {
  if (!state_.already_complete) {
    if (spec_.atomic) {
      common::CallContext publishing = stream_.Context();
      publishing.query_timeout = limits_.publish_timeout;
      absl::Status published =
          store_.PublishStage(publishing, spec_, next_row_, &state_);
      if (!published.ok()) {
        std::lock_guard<std::mutex> lock(mutex_);
        end_reason_ = published;
        return RecordEndLocked();
      }
      if (metrics_ != nullptr) {
        metrics_->RowsCommitted(spec_.table, spec_.mode, state_.rows_inserted,
                                state_.rows_updated, state_.rows_failed);
      }
    }
    absl::Status finished =
        store_.Finish(stream_.Context(), state_, LoadOutcome::kCompleted,
                      absl::StrCat(state_.committed_offset, " rows committed"));
    // Every row is committed; a job that already ended (another stream of
    // the same load completed it) keeps its status, and the client still
    // hears that its rows are in.
    if (absl::IsFailedPrecondition(finished)) finished = absl::OkStatus();
    if (!finished.ok()) {
      std::lock_guard<std::mutex> lock(mutex_);
      return FinishLocked(finished);
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  LoadMessage summary;
  summary.kind = LoadMessage::Kind::kSummary;
  summary.progress = ProgressLocked();
  summary.load_id = state_.load_id;
  summary.job_id = state_.job_id;
  summary.load_totals = {state_.earlier.rows_inserted + state_.rows_inserted,
                         state_.earlier.rows_updated + state_.rows_updated,
                         state_.earlier.rows_failed + state_.rows_failed};
  SendLocked(std::move(summary));
  FinishLocked(absl::OkStatus());  // after the queued messages
}

LoadProgress Loader::ProgressLocked() const {
  return {state_.committed_offset, state_.rows_inserted, state_.rows_updated,
          state_.rows_failed, state_.batches_committed};
}

void Loader::SendLocked(LoadMessage message) {
  held_bytes_ += message.bytes;
  writes_.push_back(std::move(message));
  if (!writing_) WriteNextLocked();
}

void Loader::WriteNextLocked() {
  writing_ = true;
  write_after_input_ = input_done_;
  const LoadMessage message = std::move(writes_.front());
  writes_.pop_front();
  writing_bytes_ = message.bytes;
  stream_.StartWrite(message);
}

void Loader::EndLoadLocked(const absl::Status& why) {
  if (ending_) return;
  ending_ = true;
  end_reason_ = why;
  RecordEndWhenIdleLocked();
}

void Loader::RecordEndWhenIdleLocked() {
  if (in_flight_ > 0) return;  // the last Commit() comes back here
  RecordEndLocked();
}

void Loader::RecordEndLocked() {
  if (state_.job_id.empty()) return FinishLocked(end_reason_);
  if (!stream_.Post([this, why = end_reason_] { RecordEnd(why); })) {
    FinishLocked(end_reason_);
  }
}

void Loader::RecordEnd(const absl::Status& why) {
  const bool cancelled = absl::IsCancelled(why) ||
                         absl::IsDeadlineExceeded(why) || stream_.Cancelled();
  common::CallContext bookkeeping;  // not the call's: it may be over already
  bookkeeping.deadline = absl::Now() + absl::Seconds(10);
  bookkeeping.holder = stream_.Context().holder;
  bookkeeping.bulk = stream_.Context().bulk;
  // An atomic load leaves nothing behind.
  if (spec_.atomic) (void)store_.DropStage(bookkeeping, state_.job_id);
  // A load that had completed before stays completed.
  if (!state_.already_complete) {
    (void)store_.Finish(
        bookkeeping, state_,
        cancelled ? LoadOutcome::kCancelled : LoadOutcome::kFailed,
        std::string(why.message()));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  FinishLocked(why);
}

void Loader::FinishLocked(const absl::Status& status) {
  if (finished_) return;
  if (status.ok() && (writing_ || !writes_.empty())) {
    pending_finish_ = status;
    return;
  }
  finished_ = true;
  writes_.clear();
  stream_.Finish(status);
}

}  // namespace aves::bulk
