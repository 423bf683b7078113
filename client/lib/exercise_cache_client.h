// ExerciseCacheClient: typed calls of aves.data.v1.ExerciseCacheService.
// Every call has a deadline; GetExercise (an idempotent read) is retried on
// UNAVAILABLE with jittered back-off within that deadline; writes never are.
#ifndef AVES_CLIENT_LIB_EXERCISE_CACHE_CLIENT_H_
#define AVES_CLIENT_LIB_EXERCISE_CACHE_CLIENT_H_

#include <memory>

#include <absl/status/statusor.h>
#include <absl/time/time.h>
#include <grpcpp/channel.h>

#include "aves/data/v1/exercise_cache.grpc.pb.h"
#include "client/lib/call.h"

namespace aves::client {

class ExerciseCacheClient {
 public:
  explicit ExerciseCacheClient(std::shared_ptr<grpc::Channel> channel,
                               CallOptions options = {});

  absl::StatusOr<data::v1::Exercise> GetExercise(
      const data::v1::GetExerciseRequest& request);
  // One result per request, in order (a miss is a result).
  absl::StatusOr<data::v1::BatchGetExercisesResponse> BatchGetExercises(
      const data::v1::BatchGetExercisesRequest& request);
  absl::StatusOr<data::v1::Exercise> PutExercise(
      const data::v1::PutExerciseRequest& request);
  absl::StatusOr<data::v1::PurgeExpiredResponse> PurgeExpired(int64_t max_rows);

 private:
  std::unique_ptr<data::v1::ExerciseCacheService::Stub> stub_;
  CallOptions options_;
};

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_EXERCISE_CACHE_CLIENT_H_
