// ExerciseCacheService: validate -> ExerciseCacheStore -> proto. Served with
// gRPC's callback API: each call's (blocking) store work runs on an executor
// sized to the connection pool, never on gRPC's own threads. GetExercise,
// the hot path, validates on gRPC's thread and hands the lookup to the
// LookupBatcher, which shares round trips between concurrent lookups.
#ifndef AVES_SERVER_HANDLERS_EXERCISE_CACHE_SERVICE_H_
#define AVES_SERVER_HANDLERS_EXERCISE_CACHE_SERVICE_H_

#include <absl/time/time.h>

#include "aves/data/v1/exercise_cache.grpc.pb.h"
#include "server/common/executor.h"
#include "server/handlers/lookup_batcher.h"
#include "server/store/exercise_cache_store.h"

namespace aves::handlers {

class ExerciseCacheServiceImpl final
    : public aves::data::v1::ExerciseCacheService::CallbackService {
 public:
  // Limits of the request fields (documented in exercise_cache.proto).
  static constexpr size_t kMaxExerciseTypeBytes = 100;
  static constexpr size_t kMaxTopicBytes = 200;
  static constexpr size_t kMaxExerciseDataBytes = 1 << 20;

  // How GetExercise lookups are batched (lookup_batcher.h).
  struct Batching {
    int max_batch = 64;       // keys per round trip
    int max_tasks = 2;        // batches in flight (server.cc: CPU cores)
    size_t max_queued = 120;  // lookups waiting: pool size + its waiters
  };

  ExerciseCacheServiceImpl(store::ExerciseCacheStore& store,
                           common::Executor& executor, absl::Duration slow_rpc,
                           Batching batching)
      : store_(store),
        executor_(executor),
        slow_rpc_(slow_rpc),
        batcher_(store, executor, batching.max_batch, batching.max_tasks,
                 batching.max_queued) {}

  grpc::ServerUnaryReactor* GetExercise(
      grpc::CallbackServerContext* context,
      const aves::data::v1::GetExerciseRequest* request,
      aves::data::v1::GetExerciseResponse* response) override;
  grpc::ServerUnaryReactor* PutExercise(
      grpc::CallbackServerContext* context,
      const aves::data::v1::PutExerciseRequest* request,
      aves::data::v1::PutExerciseResponse* response) override;
  grpc::ServerUnaryReactor* PurgeExpired(
      grpc::CallbackServerContext* context,
      const aves::data::v1::PurgeExpiredRequest* request,
      aves::data::v1::PurgeExpiredResponse* response) override;

 private:
  store::ExerciseCacheStore& store_;
  common::Executor& executor_;
  const absl::Duration slow_rpc_;
  LookupBatcher batcher_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_EXERCISE_CACHE_SERVICE_H_
