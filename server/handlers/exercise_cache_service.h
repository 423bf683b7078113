// ExerciseCacheService: validate -> ExerciseCacheStore -> proto. Served with
// gRPC's callback API: each call's (blocking) store work runs on an executor
// sized to the connection pool, never on gRPC's own threads. GetExercise,
// the hot path, validates on gRPC's thread and looks in the in-process cache
// (CachedLookups); a miss goes to the LookupBatcher, which shares round trips
// between concurrent lookups. PutExercise drops its learner's cached entries
// before it answers (read your writes).
#ifndef AVES_SERVER_HANDLERS_EXERCISE_CACHE_SERVICE_H_
#define AVES_SERVER_HANDLERS_EXERCISE_CACHE_SERVICE_H_

#include <cstddef>

#include "aves/data/v1/exercise_cache.grpc.pb.h"
#include "server/handlers/cached_lookups.h"
#include "server/handlers/lookup_batcher.h"
#include "server/handlers/offload.h"
#include "server/store/exercise_cache_store.h"

namespace aves::handlers {

class ExerciseCacheServiceImpl final
    : public aves::data::v1::ExerciseCacheService::CallbackService {
 public:
  // Limits of the request fields (documented in exercise_cache.proto).
  static constexpr size_t kMaxExerciseTypeBytes = 100;
  static constexpr size_t kMaxTopicBytes = 200;
  static constexpr size_t kMaxExerciseDataBytes = 1 << 20;

  // How GetExercise lookups are batched (lookup_batcher.h; the sizes come
  // from app/sizing.h).
  struct Batching {
    int max_batch = 64;                 // keys per round trip
    int max_tasks = 1;                  // batches in flight
    size_t max_queued_bytes = 1 << 20;  // of keys waiting
    int max_batch_get = 1000;           // keys of one BatchGetExercises
  };

  ExerciseCacheServiceImpl(store::ExerciseCacheStore& store,
                           store::LookupCache& cache, HandlerContext handler,
                           Batching batching)
      : store_(store),
        cache_(cache),
        handler_(handler),
        max_batch_get_(batching.max_batch_get),
        batcher_(store, handler.executor, batching.max_batch,
                 batching.max_tasks, batching.max_queued_bytes),
        lookups_(cache, batcher_) {
    RegisterParseChecked();
  }

  grpc::ServerUnaryReactor* GetExercise(
      grpc::CallbackServerContext* context,
      const aves::data::v1::GetExerciseRequest* request,
      aves::data::v1::GetExerciseResponse* response) override;
  grpc::ServerUnaryReactor* BatchGetExercises(
      grpc::CallbackServerContext* context,
      const aves::data::v1::BatchGetExercisesRequest* request,
      aves::data::v1::BatchGetExercisesResponse* response) override;
  grpc::ServerUnaryReactor* PutExercise(
      grpc::CallbackServerContext* context,
      const aves::data::v1::PutExerciseRequest* request,
      aves::data::v1::PutExerciseResponse* response) override;
  grpc::ServerUnaryReactor* PurgeExpired(
      grpc::CallbackServerContext* context,
      const aves::data::v1::PurgeExpiredRequest* request,
      aves::data::v1::PurgeExpiredResponse* response) override;

 private:
  void RegisterParseChecked();
  store::ExerciseCacheStore& store_;
  store::LookupCache& cache_;
  const HandlerContext handler_;
  const int max_batch_get_;
  LookupBatcher batcher_;
  CachedLookups lookups_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_EXERCISE_CACHE_SERVICE_H_
