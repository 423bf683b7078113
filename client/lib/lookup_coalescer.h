// LookupCoalescer: the DataLoader pattern for exercise lookups. Concurrent
// Gets of one process become BatchGetExercises calls:
//  - no timer: a Get that finds a free slot (fewer than max_in_flight calls
//    out) goes at once, with whatever else is waiting; one that arrives
//    while every slot is busy waits for the next call to return, and goes
//    with the others that waited (at most max_batch keys a call);
//  - duplicate keys in one call are sent once, and every caller of the key
//    gets the answer;
//  - each caller keeps its own deadline and cancellation: one whose
//    deadline passes is told DEADLINE_EXCEEDED then (a thread of the
//    coalescer's watches deadlines), one that cancels is told CANCELLED at
//    once, and the others' call goes on; a call lives until its latest
//    member's deadline, and is cancelled once every member has given up;
//  - a call of one key is a plain GetExercise (the lone caller's RPC, with
//    its own error messages); when a batch is refused as INVALID_ARGUMENT
//    (one caller's bad key), each of its keys is sent alone, so a bad key
//    fails only its own callers;
//  - UNAVAILABLE is retried (reads) for callers with attempts and time left.
// ARCHITECTURE.md has the design note for clients in other languages.
#ifndef AVES_CLIENT_LIB_LOOKUP_COALESCER_H_
#define AVES_CLIENT_LIB_LOOKUP_COALESCER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/time/time.h>
#include <grpcpp/completion_queue.h>

#include "aves/data/v1/exercise_cache.grpc.pb.h"

namespace aves::client {

class LookupCoalescer {
 public:
  struct Options {
    int max_batch = 100;    // keys per BatchGetExercises
    int max_in_flight = 2;  // calls out at once
    int max_attempts = 3;   // per caller, for UNAVAILABLE
  };
  // The entry, nullopt on a miss, or why there is no answer.
  using Result = absl::StatusOr<std::optional<data::v1::Exercise>>;
  using Done = std::function<void(Result)>;

  LookupCoalescer(data::v1::ExerciseCacheService::Stub* stub, Options options);
  // Fails whoever still waits with CANCELLED and waits for the calls out.
  ~LookupCoalescer();
  LookupCoalescer(const LookupCoalescer&) = delete;
  LookupCoalescer& operator=(const LookupCoalescer&) = delete;

  // `done` runs once, on one of the coalescer's two threads (never inside
  // Get), by `deadline` at the latest. The ticket cancels this Get alone.
  using Ticket = std::weak_ptr<void>;
  Ticket Get(const data::v1::GetExerciseRequest& key, absl::Time deadline,
             Done done);
  // The caller gave up: its `done` runs now with CANCELLED (unless it was
  // answered already). The call carrying its key goes on for the others,
  // and is cancelled only once every member has given up.
  void Cancel(const Ticket& ticket);

  // Calls sent so far (for tests and metrics).
  int64_t calls_sent() const;

 private:
  struct Waiter;
  struct Call;
  using WaiterPtr = std::shared_ptr<Waiter>;
  using Ready = std::vector<std::pair<Done, Result>>;

  // Sends calls while slots are free; the calls to issue go to `out`.
  void FillSlotsLocked(std::vector<std::shared_ptr<Call>>* out);
  void Issue(const std::shared_ptr<Call>& call);
  void OnCallDone(const std::shared_ptr<Call>& call,
                  const grpc::Status& status);
  // Marks `waiter` answered; its callback goes to `ready`.
  // By value: `waiter` may be the deadline entry it erases.
  void FinishLocked(WaiterPtr waiter, Result result, Ready* ready);
  void WatchDeadlines();
  // The calls out whose every member has been answered (under mutex_).
  std::vector<std::shared_ptr<Call>> AbandonedLocked() const;
  void PollCompletions();

  data::v1::ExerciseCacheService::Stub* const stub_;
  const Options options_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<WaiterPtr> pending_;                   // not yet sent
  std::multimap<absl::Time, WaiterPtr> deadlines_;  // unanswered
  std::set<std::shared_ptr<Call>> out_;             // calls in flight
  int64_t calls_sent_ = 0;
  bool stopping_ = false;
  // Calls complete on a completion queue of the coalescer's own, not on
  // gRPC's callback API: gRPC 1.51's process-wide callback queue is freed
  // twice when channels using it come and go concurrently (an ASan
  // double-free in grpc_cq_internal_unref, seen in tests).
  grpc::CompletionQueue completions_;
  std::thread poller_;
  std::thread deadline_watcher_;
};

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_LOOKUP_COALESCER_H_
