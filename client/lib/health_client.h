// HealthClient: asks avesd's grpc.health.v1.Health whether it serves.
#ifndef AVES_CLIENT_LIB_HEALTH_CLIENT_H_
#define AVES_CLIENT_LIB_HEALTH_CLIENT_H_

#include <memory>
#include <string>

#include <absl/status/statusor.h>
#include <grpcpp/channel.h>

#include "client/lib/call.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace aves::client {

enum class ServingStatus { kUnknown, kServing, kNotServing, kServiceUnknown };

// "SERVING", "NOT_SERVING", ...
const char* ServingStatusName(ServingStatus status);

class HealthClient {
 public:
  explicit HealthClient(std::shared_ptr<grpc::Channel> channel,
                        CallOptions options = {});

  // The status of `service` ("" = the server as a whole). UNAVAILABLE when the
  // server cannot be reached within the call's timeout. Never retried: a
  // probe reports what it finds.
  absl::StatusOr<ServingStatus> Check(const std::string& service);

 private:
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
  CallOptions options_;
};

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_HEALTH_CLIENT_H_
