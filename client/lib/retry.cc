#include "client/lib/retry.h"

#include <string>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace aves::client {

std::optional<absl::Duration> RetryInfoDelay(const grpc::Status& status) {
  google::rpc::Status rich;
  if (status.error_details().empty() ||
      !rich.ParseFromString(status.error_details())) {
    return std::nullopt;
  }
  for (const google::protobuf::Any& detail : rich.details()) {
    google::rpc::RetryInfo retry_info;
    if (detail.Is<google::rpc::RetryInfo>() && detail.UnpackTo(&retry_info)) {
      const absl::Duration delay =
          absl::Seconds(retry_info.retry_delay().seconds()) +
          absl::Nanoseconds(retry_info.retry_delay().nanos());
      // Another program's value: a negative delay is no delay.
      return delay < absl::ZeroDuration() ? absl::ZeroDuration() : delay;
    }
  }
  return std::nullopt;
}

}  // namespace aves::client
