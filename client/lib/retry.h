// Retrying idempotent reads: UNAVAILABLE (the server or its database briefly
// away) is retried with jittered exponential back-off until the attempts or
// the deadline run out. Nothing else is retried.
#ifndef AVES_CLIENT_LIB_RETRY_H_
#define AVES_CLIENT_LIB_RETRY_H_

#include <random>

#include <absl/time/clock.h>
#include <absl/time/time.h>
#include <grpcpp/support/status.h>

namespace aves::client {

// Calls `attempt(deadline)` (returning grpc::Status) up to `max_attempts`
// times while it returns UNAVAILABLE and time remains before `deadline`.
template <typename Attempt>
grpc::Status RetryUnavailable(absl::Time deadline, int max_attempts,
                              Attempt attempt) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  absl::Duration backoff = absl::Milliseconds(50);
  for (int tries = 1;; ++tries) {
    grpc::Status status = attempt(deadline);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE ||
        tries >= max_attempts) {
      return status;
    }
    const absl::Duration pause =
        backoff / 2 +
        backoff / 2 * std::uniform_real_distribution<double>(0, 1)(random);
    if (absl::Now() + pause >= deadline) return status;
    absl::SleepFor(pause);
    backoff *= 2;
  }
}

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_RETRY_H_
