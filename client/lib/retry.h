// Retrying what is safe to retry, within the call's deadline:
// - UNAVAILABLE (the server or its database briefly away), for idempotent
//   reads only: a write may have been done before the connection broke.
//   Jittered exponential back-off.
// - RESOURCE_EXHAUSTED with a google.rpc.RetryInfo (a rate limit), for any
//   call: the server refused it before doing anything. After the delay the
//   server names, plus a little jitter so that refused callers do not come
//   back together; at once if the delay would pass the deadline.
// Nothing else is retried.
#ifndef AVES_CLIENT_LIB_RETRY_H_
#define AVES_CLIENT_LIB_RETRY_H_

#include <optional>
#include <random>

#include <absl/time/clock.h>
#include <absl/time/time.h>
#include <grpcpp/support/status.h>

namespace aves::client {

// The delay of the RetryInfo detail `status` carries, if any.
std::optional<absl::Duration> RetryInfoDelay(const grpc::Status& status);

enum class RetryUnavailable { kNo, kYes };

// Calls `attempt(deadline)` (returning grpc::Status) up to `max_attempts`
// times while it fails as above and time remains before `deadline`.
template <typename Attempt>
grpc::Status RetryTransient(absl::Time deadline, int max_attempts,
                            RetryUnavailable unavailable, Attempt attempt) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0, 1);
  absl::Duration backoff = absl::Milliseconds(50);
  for (int tries = 1;; ++tries) {
    grpc::Status status = attempt(deadline);
    if (tries >= max_attempts) return status;
    absl::Duration pause;
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
        unavailable == RetryUnavailable::kYes) {
      pause = backoff / 2 + backoff / 2 * unit(random);
      backoff *= 2;
    } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      const std::optional<absl::Duration> delay = RetryInfoDelay(status);
      if (!delay.has_value()) return status;  // busy, not limited: no hint
      pause = *delay + *delay / 10 * unit(random);
    } else {
      return status;
    }
    if (absl::Now() + pause >= deadline) return status;
    absl::SleepFor(pause);
  }
}

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_RETRY_H_
