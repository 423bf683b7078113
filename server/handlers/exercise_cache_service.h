// ExerciseCacheService: validate -> ExerciseCacheStore -> proto.
#ifndef AVES_SERVER_HANDLERS_EXERCISE_CACHE_SERVICE_H_
#define AVES_SERVER_HANDLERS_EXERCISE_CACHE_SERVICE_H_

#include <absl/time/time.h>

#include "aves/data/v1/exercise_cache.grpc.pb.h"
#include "server/store/exercise_cache_store.h"

namespace aves::handlers {

class ExerciseCacheServiceImpl final
    : public aves::data::v1::ExerciseCacheService::Service {
 public:
  // Limits of the request fields (documented in exercise_cache.proto).
  static constexpr size_t kMaxExerciseTypeBytes = 100;
  static constexpr size_t kMaxTopicBytes = 200;
  static constexpr size_t kMaxExerciseDataBytes = 1 << 20;

  ExerciseCacheServiceImpl(store::ExerciseCacheStore& store,
                           absl::Duration slow_rpc)
      : store_(store), slow_rpc_(slow_rpc) {}

  grpc::Status GetExercise(
      grpc::ServerContext* context,
      const aves::data::v1::GetExerciseRequest* request,
      aves::data::v1::GetExerciseResponse* response) override;
  grpc::Status PutExercise(
      grpc::ServerContext* context,
      const aves::data::v1::PutExerciseRequest* request,
      aves::data::v1::PutExerciseResponse* response) override;
  grpc::Status PurgeExpired(
      grpc::ServerContext* context,
      const aves::data::v1::PurgeExpiredRequest* request,
      aves::data::v1::PurgeExpiredResponse* response) override;

 private:
  store::ExerciseCacheStore& store_;
  const absl::Duration slow_rpc_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_EXERCISE_CACHE_SERVICE_H_
