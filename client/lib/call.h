// How every typed client method makes its call: a deadline per call, and
// retries within that deadline of what is safe to retry (retry.h): for
// idempotent reads UNAVAILABLE, for any call a rate limit's RetryInfo.
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
  int max_attempts = 3;
};

enum class Idempotency { kRead, kWrite };

// Calls `invoke(context, response)` (a stub method returning grpc::Status)
// under `options`; UNAVAILABLE is retried only for kRead.
template <typename Response, typename Invoke>
absl::StatusOr<Response> UnaryCall(const CallOptions& options,
                                   Idempotency idempotency, Invoke invoke) {
  Response response;
  grpc::Status status =
      RetryTransient(absl::Now() + options.timeout, options.max_attempts,
                     idempotency == Idempotency::kRead ? RetryUnavailable::kYes
                                                       : RetryUnavailable::kNo,
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
