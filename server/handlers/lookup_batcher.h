// LookupBatcher: GetExercise lookups that arrive while others wait for the
// database share one round trip (ExerciseCacheStore::LookupMany). There is no
// timer and no added latency: a lookup goes to the queue, and whichever
// executor task is free takes everything queued (up to max_batch) at once.
// With one caller a batch is one lookup; under load batches grow by
// themselves, and PostgreSQL runs one statement per batch instead of one per
// lookup.
//
// A batch runs under the most lenient of its members' deadlines (one short
// deadline must not cancel the others' lookups) and is cancelled only when
// every member's caller has gone; each member then gets its own result, and
// the batch's statement credited to its access-log line.
#ifndef AVES_SERVER_HANDLERS_LOOKUP_BATCHER_H_
#define AVES_SERVER_HANDLERS_LOOKUP_BATCHER_H_

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <absl/container/inlined_vector.h>
#include <absl/status/statusor.h>

#include "server/common/call_context.h"
#include "server/common/executor.h"
#include "server/db/query_metrics.h"
#include "server/store/exercise_cache_store.h"

namespace aves::handlers {

class LookupBatcher {
 public:
  using Result = absl::StatusOr<std::optional<store::ExerciseEntry>>;
  // The result and the statements that produced it (the batch's, shared).
  using Done = std::function<void(Result, const db::CallStatements&)>;
  // A group's results in its keys' order, or why none came.
  using ManyDone = std::function<void(absl::StatusOr<std::vector<Result>>,
                                      const db::CallStatements&)>;

  // At most `max_batch` keys per round trip (kDeepQueueBatch while the
  // queue is deep), `max_tasks` batches running at once, `max_queued_bytes`
  // of keys waiting.
  LookupBatcher(store::ExerciseCacheStore& store, common::Executor& executor,
                int max_batch, int max_tasks, size_t max_queued_bytes)
      : store_(store),
        executor_(executor),
        max_batch_(max_batch),
        max_tasks_(max_tasks),
        max_queued_bytes_(max_queued_bytes) {}

  // Keys one statement takes when more than two batches' worth wait: a deep
  // queue drains in a few statements (1,000 waiting lookups are two), not in
  // batches of max_batch that would keep the last ones past their deadline.
  static constexpr size_t kDeepQueueBatch = 512;
  // What a queued key is charged against max_queued_bytes.
  static size_t KeyBytes(const store::ExerciseKey& key);

  // Queues one lookup; `done` runs exactly once, on an executor thread (or
  // on this one with RESOURCE_EXHAUSTED when the queue is full: its bytes
  // would pass max_queued_bytes, or the batches queued ahead would take it
  // past its deadline, at the pace statements have been taking).
  void Submit(store::ExerciseKey key, common::CallContext context, Done done);
  // Queues a group of lookups (BatchGetExercises) that goes in one batch,
  // never split: one statement however many keys, with other waiting
  // lookups while the batch has room. A group alone in the queue always
  // goes, whatever its size.
  void SubmitMany(std::vector<store::ExerciseKey> keys,
                  common::CallContext context, ManyDone done);

 private:
  struct Pending {
    // One for Submit, inline: the hot path allocates no vector.
    absl::InlinedVector<store::ExerciseKey, 1> keys;
    common::CallContext context;
    Done done;         // Submit's
    ManyDone many;     // SubmitMany's
    size_t bytes = 0;  // KeyBytes of its keys
    void Fail(const absl::Status& status) const;
  };
  void Enqueue(Pending pending);
  // A batch's calls and their results, to be handed over.
  struct Finished {
    std::vector<Pending> batch;
    absl::StatusOr<std::vector<Result>> found;
    db::CallStatements statements;
    void Run();  // runs each member's `done` once
  };
  void Drain();
  size_t KeysPerStatement() const;  // under mutex_

  store::ExerciseCacheStore& store_;
  common::Executor& executor_;
  const int max_batch_;
  const int max_tasks_;
  const size_t max_queued_bytes_;
  std::mutex mutex_;
  std::deque<Pending> queue_;  // guarded by mutex_
  int tasks_ = 0;              // Drain tasks posted or running; mutex_
  size_t queued_keys_ = 0;     // mutex_
  size_t queued_bytes_ = 0;    // mutex_: KeyBytes of the queued keys
  // How long a batch's statement has been taking (a moving average), for
  // the admission estimate; starts at a millisecond.
  absl::Duration statement_time_ = absl::Milliseconds(1);  // mutex_
};

// The CallContext a batch runs under (see above). Exposed for tests.
common::CallContext BatchContext(
    const std::vector<common::CallContext>& members);

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_LOOKUP_BATCHER_H_
