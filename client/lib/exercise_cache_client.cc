#include "client/lib/exercise_cache_client.h"

#include <grpcpp/client_context.h>

#include "client/lib/channel.h"
#include "client/lib/retry.h"

namespace aves::client {

namespace v1 = data::v1;

ExerciseCacheClient::ExerciseCacheClient(std::shared_ptr<grpc::Channel> channel,
                                         CallOptions options)
    : stub_(v1::ExerciseCacheService::NewStub(channel)), options_(options) {}

absl::StatusOr<v1::Exercise> ExerciseCacheClient::GetExercise(
    const v1::GetExerciseRequest& request) {
  v1::GetExerciseResponse response;
  grpc::Status status = RetryUnavailable(
      absl::Now() + options_.timeout, options_.max_attempts,
      [&](absl::Time deadline) {
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(deadline));
        return stub_->GetExercise(&context, request, &response);
      });
  if (!status.ok()) return FromGrpcStatus(status);
  return response.exercise();
}

absl::StatusOr<v1::Exercise> ExerciseCacheClient::PutExercise(
    const v1::PutExerciseRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  v1::PutExerciseResponse response;
  grpc::Status status = stub_->PutExercise(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response.exercise();
}

absl::StatusOr<v1::PurgeExpiredResponse> ExerciseCacheClient::PurgeExpired(
    int64_t max_rows) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  v1::PurgeExpiredRequest request;
  request.set_max_rows(max_rows);
  v1::PurgeExpiredResponse response;
  grpc::Status status = stub_->PurgeExpired(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

}  // namespace aves::client
