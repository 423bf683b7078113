#include "client/lib/admin_client.h"

#include <utility>

namespace aves::client {

namespace v1 = data::v1;

AdminClient::AdminClient(std::shared_ptr<grpc::Channel> channel,
                         CallOptions options)
    : stub_(v1::AdminService::NewStub(std::move(channel))), options_(options) {}

absl::StatusOr<v1::GetPoolStatsResponse> AdminClient::GetPoolStats() {
  return UnaryCall<v1::GetPoolStatsResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->GetPoolStats(context, {}, response);
      });
}

absl::StatusOr<v1::GetMigrationStatusResponse>
AdminClient::GetMigrationStatus() {
  return UnaryCall<v1::GetMigrationStatusResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->GetMigrationStatus(context, {}, response);
      });
}

absl::StatusOr<v1::VerifyIndexesResponse> AdminClient::VerifyIndexes() {
  return UnaryCall<v1::VerifyIndexesResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* response) {
        return stub_->VerifyIndexes(context, {}, response);
      });
}

}  // namespace aves::client
