#include "client/lib/bulk_insert_client.h"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <thread>

#include <grpcpp/client_context.h>

#include "client/lib/channel.h"

namespace aves::client {

namespace v1 = data::v1;

absl::StatusOr<v1::InsertSummary> BulkInsertClient::Load(
    const v1::InsertHeader& header,
    const std::function<bool(int64_t, v1::Row*)>& next_row,
    const LoadOptions& options) {
  grpc::ClientContext context;
  if (options.timeout != absl::InfiniteDuration()) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + options.timeout));
  }
  std::unique_ptr<
      grpc::ClientReaderWriter<v1::InsertRequest, v1::InsertResponse>>
      stream = stub_->Insert(&context);
  v1::InsertRequest request;
  *request.mutable_header() = header;
  v1::InsertResponse response;
  if (!stream->Write(request) || !stream->Read(&response) ||
      !response.has_progress()) {
    stream->WritesDone();
    while (stream->Read(&response)) {
    }
    return FromGrpcStatus(stream->Finish());
  }
  const int64_t committed = std::min(response.progress().committed_offset(),
                                     options.resend_from.value_or(INT64_MAX));
  if (options.on_progress) options.on_progress(response.progress());

  // The server answers every batch while we keep sending: read concurrently.
  std::optional<v1::InsertSummary> summary;
  std::thread reader([&] {
    v1::InsertResponse message;
    while (stream->Read(&message)) {
      if (message.has_progress() && options.on_progress)
        options.on_progress(message.progress());
      if (message.has_returned() && options.on_returned)
        options.on_returned(message.returned());
      if (message.has_summary()) {
        summary = message.summary();
        if (options.on_progress) options.on_progress(summary->totals());
      }
    }
  });
  int64_t index = 0;
  bool more = true;
  v1::Row row;
  // Rows the load already committed are read (to stay in step with the
  // source) but never sent.
  while (more && index < committed) {
    row.Clear();
    more = next_row(index, &row);
    if (more) ++index;
  }
  while (more) {
    request.Clear();
    v1::RowChunk* chunk = request.mutable_rows();
    chunk->set_first_row(index);
    while (chunk->rows_size() < options.chunk_rows) {
      row.Clear();
      if (!(more = next_row(index, &row))) break;
      *chunk->add_rows() = std::move(row);
      ++index;
    }
    if (chunk->rows_size() == 0) break;
    if (!stream->Write(request)) break;  // the server ended the call
  }
  stream->WritesDone();
  reader.join();
  grpc::Status status = stream->Finish();
  if (!status.ok()) return FromGrpcStatus(status);
  if (!summary.has_value()) {
    return absl::InternalError("the server ended the load without a summary");
  }
  return *summary;
}

}  // namespace aves::client
