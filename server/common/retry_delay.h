// A refusal that says when to come back: the delay rides on the status as a
// payload, and handlers::ToGrpcStatus turns it into a google.rpc.RetryInfo
// detail, which the client library waits out before it retries.
#ifndef AVES_SERVER_COMMON_RETRY_DELAY_H_
#define AVES_SERVER_COMMON_RETRY_DELAY_H_

#include <cstdint>
#include <optional>
#include <string>

#include <absl/status/status.h>
#include <absl/strings/cord.h>
#include <absl/strings/numbers.h>
#include <absl/time/time.h>

namespace aves::common {

inline constexpr char kRetryDelayPayload[] = "aves.retry_delay_us";

// `status` carrying "retry after `delay`".
inline absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  status.SetPayload(
      kRetryDelayPayload,
      absl::Cord(std::to_string(absl::ToInt64Microseconds(
          delay < absl::ZeroDuration() ? absl::ZeroDuration() : delay))));
  return status;
}

// The delay `status` asks for, if any.
inline std::optional<absl::Duration> RetryDelayOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kRetryDelayPayload);
  int64_t micros = 0;
  if (!payload.has_value() ||
      !absl::SimpleAtoi(std::string(*payload), &micros) || micros < 0) {
    return std::nullopt;
  }
  return absl::Microseconds(micros);
}

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_RETRY_DELAY_H_
