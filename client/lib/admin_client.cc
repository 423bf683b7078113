#include "client/lib/admin_client.h"

#include <grpcpp/client_context.h>

#include "client/lib/channel.h"

namespace aves::client {

namespace v1 = data::v1;

AdminClient::AdminClient(std::shared_ptr<grpc::Channel> channel,
                         absl::Duration timeout)
    : stub_(v1::AdminService::NewStub(channel)), timeout_(timeout) {}

absl::StatusOr<v1::GetPoolStatsResponse> AdminClient::GetPoolStats() {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  v1::GetPoolStatsResponse response;
  grpc::Status status = stub_->GetPoolStats(&context, {}, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::GetMigrationStatusResponse>
AdminClient::GetMigrationStatus() {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  v1::GetMigrationStatusResponse response;
  grpc::Status status = stub_->GetMigrationStatus(&context, {}, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::VerifyIndexesResponse> AdminClient::VerifyIndexes() {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  v1::VerifyIndexesResponse response;
  grpc::Status status = stub_->VerifyIndexes(&context, {}, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

}  // namespace aves::client
