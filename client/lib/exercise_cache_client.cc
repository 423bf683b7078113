#include "client/lib/exercise_cache_client.h"

namespace aves::client {

namespace v1 = data::v1;

ExerciseCacheClient::ExerciseCacheClient(std::shared_ptr<grpc::Channel> channel,
                                         CallOptions options)
    : stub_(v1::ExerciseCacheService::NewStub(channel)), options_(options) {}

absl::StatusOr<v1::Exercise> ExerciseCacheClient::GetExercise(
    const v1::GetExerciseRequest& request) {
  absl::StatusOr<v1::GetExerciseResponse> response =
      UnaryCall<v1::GetExerciseResponse>(
          options_, Idempotency::kRead, [&](auto* context, auto* out) {
            return stub_->GetExercise(context, request, out);
          });
  if (!response.ok()) return response.status();
  return response->exercise();
}

absl::StatusOr<v1::BatchGetExercisesResponse>
ExerciseCacheClient::BatchGetExercises(
    const v1::BatchGetExercisesRequest& request) {
  return UnaryCall<v1::BatchGetExercisesResponse>(
      options_, Idempotency::kRead, [&](auto* context, auto* out) {
        return stub_->BatchGetExercises(context, request, out);
      });
}

absl::StatusOr<v1::Exercise> ExerciseCacheClient::PutExercise(
    const v1::PutExerciseRequest& request) {
  absl::StatusOr<v1::PutExerciseResponse> response =
      UnaryCall<v1::PutExerciseResponse>(
          options_, Idempotency::kWrite, [&](auto* context, auto* out) {
            return stub_->PutExercise(context, request, out);
          });
  if (!response.ok()) return response.status();
  return response->exercise();
}

absl::StatusOr<v1::PurgeExpiredResponse> ExerciseCacheClient::PurgeExpired(
    int64_t max_rows) {
  v1::PurgeExpiredRequest request;
  request.set_max_rows(max_rows);
  return UnaryCall<v1::PurgeExpiredResponse>(
      options_, Idempotency::kWrite, [&](auto* context, auto* response) {
        return stub_->PurgeExpired(context, request, response);
      });
}

}  // namespace aves::client
