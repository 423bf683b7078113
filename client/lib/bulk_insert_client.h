// BulkInsertClient: loads rows through BulkInsertService.Insert. It sends
// the header, learns the committed offset (a resumed load id continues
// there; rows below it are never sent again), streams rows in chunks while a
// reader thread takes the server's per-batch progress, and returns the
// summary. A load is not retried automatically: the caller resumes it with
// the same load id, which is exactly-once by construction.
#ifndef AVES_CLIENT_LIB_BULK_INSERT_CLIENT_H_
#define AVES_CLIENT_LIB_BULK_INSERT_CLIENT_H_

#include <functional>
#include <memory>
#include <optional>

#include <absl/status/statusor.h>
#include <absl/time/time.h>
#include <grpcpp/channel.h>

#include "aves/data/v1/bulk_insert.grpc.pb.h"

namespace aves::client {

struct LoadOptions {
  int chunk_rows = 500;  // rows per message
  // Deadline of the whole load; InfiniteDuration: none.
  absl::Duration timeout = absl::InfiniteDuration();
  // Called with each progress message and the summary's totals (on a
  // client thread).
  std::function<void(const data::v1::InsertProgress&)> on_progress;
  // RETURNING mode: called with each message of returned rows, in order.
  std::function<void(const data::v1::ReturnedRows&)> on_returned;
  // Send rows from here even if the load committed them already (set to the
  // last offset whose answers this client kept): in RETURNING mode they come
  // back with the values they returned when committed. Unset: from the
  // load's committed offset.
  std::optional<int64_t> resend_from;
};

class BulkInsertClient {
 public:
  explicit BulkInsertClient(std::shared_ptr<grpc::Channel> channel)
      : stub_(data::v1::BulkInsertService::NewStub(std::move(channel))) {}

  // `next_row(index, row)` fills row `index` and returns true, or returns
  // false at the end of the input. Rows below the committed offset are still
  // asked for (so a sequential reader such as a file stays in step) but never
  // sent.
  absl::StatusOr<data::v1::InsertSummary> Load(
      const data::v1::InsertHeader& header,
      const std::function<bool(int64_t index, data::v1::Row* row)>& next_row,
      const LoadOptions& options = {});

 private:
  std::unique_ptr<data::v1::BulkInsertService::Stub> stub_;
};

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_BULK_INSERT_CLIENT_H_
