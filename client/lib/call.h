// How every typed client method makes its call: a deadline per call, and for
// idempotent reads retries on UNAVAILABLE within that deadline (retry.h).
#ifndef AVES_CLIENT_LIB_CALL_H_
#define AVES_CLIENT_LIB_CALL_H_

#include <absl/status/statusor.h>
#include <absl/time/clock.h>
#include <absl/time/time.h>
#include <grpcpp/client_context.h>

#include "client/lib/channel.h"
#include "client/lib/retry.h"

namespace aves::client {

struct CallOptions {
  absl::Duration timeout =
      absl::Seconds(5);  // the deadline of one call, retries included
  int max_attempts = 3;  // for idempotent reads
};

enum class Idempotency { kRead, kWrite };

// Calls `invoke(context, response)` (a stub method returning grpc::Status)
// under `options`; retried only for kRead.
template <typename Response, typename Invoke>
absl::StatusOr<Response> UnaryCall(const CallOptions& options,
                                   Idempotency idempotency, Invoke invoke) {
  Response response;
  grpc::Status status = RetryUnavailable(
      absl::Now() + options.timeout,
      idempotency == Idempotency::kRead ? options.max_attempts : 1,
      [&](absl::Time deadline) {
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(deadline));
        response.Clear();
        return invoke(&context, &response);
      });
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_CALL_H_
