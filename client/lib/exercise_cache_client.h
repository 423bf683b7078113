// ExerciseCacheClient: typed calls of aves.data.v1.ExerciseCacheService.
// Every call has a deadline; GetExercise (an idempotent read) is retried on
// UNAVAILABLE within that deadline; writes never are. Gets coalesce: the
// concurrent Gets of one client become BatchGetExercises calls
// (lookup_coalescer.h), a lone Get still one GetExercise at once; off with
// Coalescing{false}.
#ifndef AVES_CLIENT_LIB_EXERCISE_CACHE_CLIENT_H_
#define AVES_CLIENT_LIB_EXERCISE_CACHE_CLIENT_H_

#include <functional>
#include <memory>

#include <absl/status/statusor.h>
#include <absl/time/time.h>
#include <grpcpp/channel.h>

#include "aves/data/v1/exercise_cache.grpc.pb.h"
#include "client/lib/call.h"
#include "client/lib/lookup_coalescer.h"

namespace aves::client {

// How an ExerciseCacheClient coalesces its Gets.
struct Coalescing {
  bool enabled = true;
  LookupCoalescer::Options options;
};

class ExerciseCacheClient {
 public:
  explicit ExerciseCacheClient(std::shared_ptr<grpc::Channel> channel,
                               CallOptions options = {},
                               Coalescing coalescing = {});
  // Cancels the asynchronous Gets still out and waits for them.
  ~ExerciseCacheClient();

  // NOT_FOUND on a miss. Waits for the answer (coalesced with the client's
  // other Gets).
  absl::StatusOr<data::v1::Exercise> GetExercise(
      const data::v1::GetExerciseRequest& request);
  // With a deadline of this call's own instead of the options'.
  absl::StatusOr<data::v1::Exercise> GetExercise(
      const data::v1::GetExerciseRequest& request, absl::Duration timeout);
  // The same, answered through `done` (on a thread of the client's) by
  // the call's deadline at the latest. The function returned cancels this
  // Get alone (`done` then runs with CANCELLED unless already answered);
  // call it only while the client lives.
  std::function<void()> GetExerciseAsync(
      const data::v1::GetExerciseRequest& request,
      std::function<void(absl::StatusOr<data::v1::Exercise>)> done);
  // Calls the coalescer sent (0 with coalescing off), for tests.
  int64_t coalesced_calls() const {
    return coalescer_ != nullptr ? coalescer_->calls_sent() : 0;
  }
  // One result per request, in order (a miss is a result).
  absl::StatusOr<data::v1::BatchGetExercisesResponse> BatchGetExercises(
      const data::v1::BatchGetExercisesRequest& request);
  absl::StatusOr<data::v1::Exercise> PutExercise(
      const data::v1::PutExerciseRequest& request);
  absl::StatusOr<data::v1::PurgeExpiredResponse> PurgeExpired(int64_t max_rows);

 private:
  // GetExerciseAsync without coalescing: calls on a completion queue and
  // thread of the client's own, as the coalescer's (not gRPC's callback
  // API, whose process-wide queue gRPC 1.51 freed twice under ASan).
  class SingleCalls;

  std::unique_ptr<data::v1::ExerciseCacheService::Stub> stub_;
  CallOptions options_;
  std::unique_ptr<SingleCalls> single_calls_;   // with coalescing off
  std::unique_ptr<LookupCoalescer> coalescer_;  // last: goes first
};

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_EXERCISE_CACHE_CLIENT_H_
