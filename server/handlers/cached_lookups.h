// CachedLookups: GetExercise and BatchGetExercises lookups through the
// in-process LookupCache, then the LookupBatcher. A hit is answered at once
// on the caller's thread; concurrent misses of one key go to PostgreSQL once
// (singleflight): the first becomes the key's flight, the others wait for
// its answer. A flight ended by its own caller's deadline or cancellation is
// not the others' end: each waiter still in time sends its own lookup.
// With the cache off, everything goes straight to the batcher.
#ifndef AVES_SERVER_HANDLERS_CACHED_LOOKUPS_H_
#define AVES_SERVER_HANDLERS_CACHED_LOOKUPS_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "server/common/call_context.h"
#include "server/handlers/lookup_batcher.h"
#include "server/store/lookup_cache.h"

namespace aves::handlers {

class CachedLookups {
 public:
  using Result = LookupBatcher::Result;

  CachedLookups(store::LookupCache& cache, LookupBatcher& batcher)
      : cache_(cache), batcher_(batcher) {}

  // As LookupBatcher::Submit and SubmitMany; `done` may run on this thread.
  void Get(store::ExerciseKey key, common::CallContext context,
           LookupBatcher::Done done);
  void GetMany(std::vector<store::ExerciseKey> keys,
               common::CallContext context, LookupBatcher::ManyDone done);

 private:
  struct Waiter {
    store::ExerciseKey key;
    common::CallContext context;
    LookupBatcher::Done done;
  };
  struct Flight {
    uint64_t epoch = 0;
    std::vector<Waiter> waiters;
  };
  struct Many;  // one GetMany call's results as they come

  // Either joins the key's flight (true: `key` and `done` were moved into
  // it) or starts it (false: the caller sends the lookup, then calls Land).
  bool Join(const std::string& key_text, uint64_t epoch,
            store::ExerciseKey& key, const common::CallContext& context,
            LookupBatcher::Done& done);
  // Fills the cache with a flight's answer and hands it to its waiters.
  void Land(const store::ExerciseKey& key, const std::string& key_text,
            const Result& result, const db::CallStatements& statements);

  store::LookupCache& cache_;
  LookupBatcher& batcher_;
  std::mutex mutex_;
  absl::flat_hash_map<std::string, Flight> flights_;  // mutex_
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_CACHED_LOOKUPS_H_
