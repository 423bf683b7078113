// Loader: one bulk load (one BulkInsertService.Insert call) as a state
// machine, free of gRPC. The handler's reactor turns the stream's events
// into calls here and carries out what the loader asks of the stream
// (LoadStream); the database work goes through a LoadStore. So the rules of
// a load are tested without a network or a database (tests/unit/bulk).
//
// The rules:
//  - The first message is the header (validated: header.h); the load opens
//    (or resumes) and the client hears the committed offset first, so a
//    resumed load sends only what is missing. Chunks carry first_row; rows
//    below the offset are skipped, not written again.
//  - Rows are checked and encoded as they arrive (a bad row becomes that
//    row's recorded error; in an atomic load it ends the load). A batch is
//    cut after batch_rows rows, or once its rows hold a share of
//    max_stream_bytes (batch_bytes()), wherever that falls in a message:
//    a message of 10,000 rows with batch_size 1,000 is ten batches. Batches
//    go to the executor while the next is read. INSERT batches (and atomic
//    staging) commit up to parallel_batches at once; UPSERT and RETURNING
//    one at a time: a later row must win over an earlier one, and returned
//    rows go back in load order.
//  - Backpressure: reading pauses while a cut batch waits for a commit, or
//    while the stream holds max_stream_bytes (rows buffered, waiting or
//    committing, and returned rows not yet written). So a stream holds at
//    most max_stream_bytes plus one message's rows, and a loader faster than
//    the database (or a client that does not read its answers) is slowed by
//    flow control.
//  - After every batch the client hears its progress (returned rows first,
//    in messages of at most kReturnedRowsPerMessage rows and
//    max_returned_message_bytes); after the last, an atomic
//    load publishes, the job completes and the summary ends the call. Only
//    the client's half-close completes a load: since the reads end alike
//    when a client cancels (before gRPC reports it), a load completes only
//    once a message sent after the end has reached the client — the last
//    batch's progress, or one more progress message.
//  - Any other end (the client cancelled or ran out of time, a write
//    failed, a bad message, a database error) ends the load: once no batch
//    is in flight its job records the committed offset and the reason
//    (cancelled, or failed), an atomic load's stage is dropped, and the call
//    ends with the reason. Bookkeeping runs under a fresh 10 s context, since
//    the call's own may be over.
#ifndef AVES_SERVER_BULK_LOADER_H_
#define AVES_SERVER_BULK_LOADER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/status.h>

#include "server/bulk/bulk_metrics.h"
#include "server/bulk/copy_text.h"
#include "server/bulk/header.h"
#include "server/bulk/load_spec.h"
#include "server/bulk/load_store.h"
#include "server/bulk/row_encoder.h"
#include "server/common/call_context.h"

namespace aves::bulk {

// What the client hears: progress after each batch, returned rows, and the
// summary at the end.
struct LoadProgress {
  int64_t committed_offset = 0;
  int64_t rows_inserted = 0;
  int64_t rows_updated = 0;
  int64_t rows_failed = 0;
  int64_t batches_committed = 0;
};
struct LoadMessage {
  enum class Kind { kProgress, kReturned, kSummary };
  Kind kind = Kind::kProgress;
  LoadProgress progress;              // kProgress; kSummary: the totals
  std::vector<ReturnedRow> returned;  // kReturned, in load order
  std::string load_id;                // kSummary
  std::string job_id;                 // kSummary
  LoadTotals load_totals;             // kSummary: the whole load
  int64_t bytes = 0;                  // kReturned: ReturnedRowBytes of its rows

  static LoadMessage Progress(const LoadProgress& progress) {
    LoadMessage message;
    message.progress = progress;
    return message;
  }
};

// The call a load arrives on (the gRPC reactor; a fake in tests). The loader
// calls these with its own lock held: they must not call back into it.
class LoadStream {
 public:
  virtual ~LoadStream() = default;
  // Reads the next message; it arrives as OnHeader/OnRows/OnOtherMessage,
  // or OnReadsEnded.
  virtual void StartRead() = 0;
  // Sends a message; OnWriteDone follows. One at a time.
  virtual void StartWrite(const LoadMessage& message) = 0;
  // Ends the call. Called once.
  virtual void Finish(const absl::Status& status) = 0;
  // Runs blocking work off the stream's threads; false when it cannot be
  // queued.
  virtual bool Post(std::function<void()> work) = 0;
  // The call's deadline and cancellation, for the database work it causes.
  virtual common::CallContext Context() const = 0;
  // The client cancelled or the deadline passed.
  virtual bool Cancelled() const = 0;
};

// A message of rows, as the loader reads it.
class RowChunkView {
 public:
  virtual ~RowChunkView() = default;
  virtual int64_t first_row() const = 0;
  virtual int rows() const = 0;
  virtual int cells(int row) const = 0;
  virtual CellValue cell(int row, int column) const = 0;
};

struct LoadLimits {
  HeaderLimits header;
  int parallel_batches = 2;  // batches of one load committing at once
  // Rows one stream holds, in bytes of COPY text (AVES_BULK_MAX_STREAM_BYTES).
  int64_t max_stream_bytes = 64 << 20;
  // A message of returned rows, as estimated by ReturnedRowBytes; kept well
  // under the message size limit.
  int64_t max_returned_message_bytes = 2 << 20;
  // Loads (Insert streams) open at once (AVES_BULK_MAX_LOADS), and how long
  // a read may wait for a message (AVES_BULK_IDLE_TIMEOUT_MS); enforced by
  // the handler.
  int max_loads = 16;
  absl::Duration idle_timeout = absl::Minutes(5);
  // How long an atomic load's publish may run (AVES_BULK_PUBLISH_TIMEOUT_MS):
  // it moves the whole load in one statement, which outlasts
  // DB_QUERY_TIMEOUT once the load is large. The call's deadline still
  // bounds it.
  absl::Duration publish_timeout = absl::Minutes(30);
};

// A generous estimate of a returned row's bytes in an InsertResponse.
int64_t ReturnedRowBytes(const ReturnedRow& row);

class Loader {
 public:
  static constexpr size_t kReturnedRowsPerMessage = 1000;

  // Whether the caller may load into `table` (OK, or the status that ends
  // the call before any load exists): the handler's per-role table rule.
  using TablePermission = std::function<absl::Status(const std::string& table)>;
  // Who is loading, as the handler authenticated them.
  struct Caller {
    std::optional<std::string> subject;  // recorded as the jobs' created_by
    TablePermission may_write;           // empty: any table
  };

  // `metrics` (may be null) counts the load's rows and batches.
  Loader(LoadStream& stream, LoadStore& store, LoadLimits limits,
         Caller caller = {}, BulkMetrics* metrics = nullptr);
  // Waits until whoever finished the call has let go of the loader's lock.
  ~Loader();

  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Reads the header.
  void Start();

  // The stream's events.
  void OnHeader(LoadRequest header);
  void OnRows(const RowChunkView& chunk);
  void OnOtherMessage();  // neither a header nor rows
  // A message that does not parse: not a half-close, so the load ends
  // without completing, resumable from its committed offset.
  void OnUnparsableMessage();
  void OnReadsEnded();  // the client half-closed, or the call ended
  // A message could not be handed to the executor: the load ends.
  void OnExecutorFull();
  // No message came for `idle_timeout`: the load ends, resumable.
  void OnIdle();
  void OnWriteDone(bool ok);

  // Rows this attempt inserted so far (for the access log).
  int64_t rows_inserted() const;

 private:
  struct Batch {
    int64_t first = 0;
    int64_t end = 0;
    std::vector<CopyRow> rows;
    std::vector<RejectedRow> rejected;
    int64_t bytes = 0;  // counted in held_bytes_ until its commit ends
  };

  bool FullLocked() const;
  // Rows a batch holds before it is cut, in bytes.
  int64_t batch_bytes() const;
  // Cuts the rows being buffered into a batch waiting for a commit.
  void CutBatchLocked();
  // Starts waiting batches while commit slots are free.
  void StartWaitingLocked();
  // After a message was read: reads the next, or pauses (see above).
  void ReadOrPauseLocked();
  bool MayReadLocked() const;
  // Reading was paused and may go on now.
  void ResumeReadingLocked();
  // The first message was not a header: no load, the call ends.
  void RefuseHeaderlessLocked();
  // On the executor: validates the header, opens the load.
  void OpenLoad(LoadRequest request);
  // A refusal before any load exists (a bad header): nothing to record.
  void FinishWithoutLoad(const absl::Status& status);
  // Checks and encodes each row; rows the load already committed are only
  // counted.
  absl::Status AddRowsLocked(const RowChunkView& chunk);
  // Hands the first waiting batch to the executor.
  void StartCommitLocked();
  // On the executor.
  void Commit(Batch& batch);
  // A batch is done: resume reading, or finish the input's tail.
  void AfterCommitLocked();
  // After the input ended: commit what is left, or end the load once every
  // batch has committed.
  void CommitOrEndLocked();
  // On the executor: publish (atomic), complete the job, send the summary.
  void Complete();
  LoadProgress ProgressLocked() const;
  void SendLocked(LoadMessage message);
  void WriteNextLocked();
  // Ends the load with `why` (see the header comment).
  void EndLoadLocked(const absl::Status& why);
  // Ends the call with `why`: before the header at once (no load exists),
  // after it as EndLoadLocked.
  void EndCallLocked(const absl::Status& why);
  void RecordEndWhenIdleLocked();
  void RecordEndLocked();
  // On the executor.
  void RecordEnd(const absl::Status& why);
  // Finishes once every queued message is out (or at once on an error).
  void FinishLocked(const absl::Status& status);

  LoadStream& stream_;
  LoadStore& store_;
  const LoadLimits limits_;
  const Caller caller_;
  BulkMetrics* const metrics_;  // may be null
  bool counted_open_ = false;   // in metrics_'s loads in progress

  mutable std::mutex mutex_;
  bool have_header_ = false;
  bool started_rows_ = false;  // the first chunk arrived
  int in_flight_ = 0;          // batches on the executor
  int max_in_flight_ = 1;      // limits_.parallel_batches, or 1 (see above)
  bool read_paused_ = false;   // no read in flight, one is due (see above)
  bool input_done_ = false;    // the reads ended (see end_confirmed_)
  // The write in flight was started after the reads ended.
  bool write_after_input_ = false;
  // Such a write succeeded: the reads ended by the client's half-close.
  bool end_confirmed_ = false;
  bool ending_ = false;
  bool finished_ = false;
  absl::Status end_reason_;
  std::deque<LoadMessage> writes_;
  bool writing_ = false;
  int64_t writing_bytes_ = 0;  // the write in flight's message's bytes
  std::optional<absl::Status> pending_finish_;
  // Set by OpenLoad, read-only after.
  std::shared_ptr<const TableCatalog> catalog_;
  LoadSpec spec_;
  RowEncoder encoder_;
  LoadState state_;
  int64_t next_row_ = 0;     // number of the next row to arrive
  int64_t batch_start_ = 0;  // first row of the batch being filled
  // The batch being filled, and its bytes.
  std::vector<CopyRow> rows_;
  std::vector<RejectedRow> rejected_;
  int64_t buffered_bytes_ = 0;
  // Cut batches waiting for a commit slot, in load order.
  std::deque<std::shared_ptr<Batch>> waiting_;
  // Bytes the stream holds: buffered, waiting, committing, returned rows not
  // yet written.
  int64_t held_bytes_ = 0;
};

}  // namespace aves::bulk

#endif  // AVES_SERVER_BULK_LOADER_H_
