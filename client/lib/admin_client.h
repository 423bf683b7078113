// AdminClient: typed calls of aves.data.v1.AdminService, each with a deadline.
#ifndef AVES_CLIENT_LIB_ADMIN_CLIENT_H_
#define AVES_CLIENT_LIB_ADMIN_CLIENT_H_

#include <memory>

#include <absl/status/statusor.h>
#include <absl/time/time.h>
#include <grpcpp/channel.h>

#include "aves/data/v1/admin.grpc.pb.h"

namespace aves::client {

class AdminClient {
 public:
  explicit AdminClient(std::shared_ptr<grpc::Channel> channel,
                       absl::Duration timeout = absl::Seconds(5));

  absl::StatusOr<data::v1::GetPoolStatsResponse> GetPoolStats();
  absl::StatusOr<data::v1::GetMigrationStatusResponse> GetMigrationStatus();
  absl::StatusOr<data::v1::VerifyIndexesResponse> VerifyIndexes();

 private:
  std::unique_ptr<data::v1::AdminService::Stub> stub_;
  absl::Duration timeout_;
};

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_ADMIN_CLIENT_H_
