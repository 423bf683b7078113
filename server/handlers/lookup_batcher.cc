#include "server/handlers/lookup_batcher.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>

namespace aves::handlers {
namespace {

// The RPC the batched lookups serve, for slow-query lines.
constexpr char kRpc[] = "ExerciseCacheService.GetExercise";
constexpr char kManyRpc[] = "ExerciseCacheService.BatchGetExercises";

// Lookup's answer as a batch member's: a miss is nullopt, not an error.
LookupBatcher::Result AsResult(absl::StatusOr<store::ExerciseEntry> one) {
  if (one.ok()) return std::optional(*std::move(one));
  if (absl::IsNotFound(one.status())) {
    return std::optional<store::ExerciseEntry>();
  }
  return one.status();
}

}  // namespace

common::CallContext BatchContext(
    const std::vector<common::CallContext>& members) {
  common::CallContext batch;
  batch.holder = absl::StrCat("ExerciseCacheService.GetExercise (batch of ",
                              members.size(), ")");
  absl::Time latest = absl::InfinitePast();
  std::vector<std::function<bool()>> cancelled;
  bool cancellable = true;
  for (const common::CallContext& member : members) {
    latest = std::max(latest, member.deadline);
    // A member that cannot be cancelled keeps the batch alive.
    if (!member.cancelled) cancellable = false;
    if (cancellable) cancelled.push_back(member.cancelled);
  }
  batch.deadline = members.empty() ? absl::InfiniteFuture() : latest;
  if (!cancellable) cancelled.clear();
  if (!cancelled.empty() && cancelled.size() == members.size()) {
    batch.cancelled = [cancelled = std::move(cancelled)] {
      for (const auto& member_cancelled : cancelled)
        if (!member_cancelled()) return false;
      return true;
    };
  }
  return batch;
}

size_t LookupBatcher::KeyBytes(const store::ExerciseKey& key) {
  return sizeof(store::ExerciseKey) + key.user_id.size() +
         key.exercise_type.size() + key.topic.value_or("").size();
}

size_t LookupBatcher::KeysPerStatement() const {
  const size_t batch = static_cast<size_t>(max_batch_);
  return queued_keys_ > 2 * batch ? std::max(batch, kDeepQueueBatch) : batch;
}

void LookupBatcher::Pending::Fail(const absl::Status& status) const {
  if (many) {
    many(status, db::CallStatements{});
  } else {
    done(status, db::CallStatements{});
  }
}

void LookupBatcher::Submit(store::ExerciseKey key, common::CallContext context,
                           Done done) {
  Pending pending;
  pending.keys.push_back(std::move(key));
  pending.context = std::move(context);
  pending.done = std::move(done);
  Enqueue(std::move(pending));
}

void LookupBatcher::SubmitMany(std::vector<store::ExerciseKey> keys,
                               common::CallContext context, ManyDone done) {
  if (keys.empty()) {
    done(std::vector<Result>(), db::CallStatements{});
    return;
  }
  Pending pending;
  pending.keys.assign(std::make_move_iterator(keys.begin()),
                      std::make_move_iterator(keys.end()));
  pending.context = std::move(context);
  pending.many = std::move(done);
  Enqueue(std::move(pending));
}

void LookupBatcher::Enqueue(Pending pending) {
  for (const store::ExerciseKey& key : pending.keys)
    pending.bytes += KeyBytes(key);
  bool post = false;
  std::string busy;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The statements ahead of this lookup's own, at the pace they have
    // been taking, spread over the tasks that run them.
    const size_t per_statement = KeysPerStatement();
    const size_t statements_ahead =
        (queued_keys_ + per_statement - 1) / per_statement;
    const absl::Duration expected_wait =
        statement_time_ * static_cast<double>(statements_ahead + 1) /
        max_tasks_;
    if (!queue_.empty() && queued_bytes_ + pending.bytes > max_queued_bytes_) {
      busy = absl::StrCat(
          "server busy: the lookups queued for the database "
          "hold more than ",
          max_queued_bytes_, " bytes");
    } else if (!queue_.empty() &&
               absl::Now() + expected_wait > pending.context.deadline) {
      busy = absl::StrCat(
          "server busy: the lookups queued ahead would take about ",
          absl::FormatDuration(expected_wait), ", past this call's deadline");
    } else {
      queued_keys_ += pending.keys.size();
      queued_bytes_ += pending.bytes;
      queue_.push_back(std::move(pending));
      if (tasks_ < max_tasks_) {
        ++tasks_;
        post = true;
      }
      if (!post) return;  // a running task will take it
    }
  }
  if (!post) {
    // Not under the lock: done may finish the call.
    pending.Fail(absl::ResourceExhaustedError(busy));
    return;
  }
  if (executor_.Post([this] { Drain(); })) return;
  // The executor is full: fail whatever no task will take.
  std::deque<Pending> orphans;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --tasks_;
    if (tasks_ == 0) {
      orphans.swap(queue_);
      queued_keys_ = 0;
      queued_bytes_ = 0;
    }
  }
  for (Pending& orphan : orphans) orphan.Fail(common::ExecutorFullError());
}

void LookupBatcher::Drain() {
  while (true) {
    std::vector<Pending> batch;
    std::vector<Pending> gone;  // past their deadline or cancelled: no query
    size_t key_count = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (queue_.empty()) {
        --tasks_;
        return;
      }
      const absl::Time now = absl::Now();
      const size_t most_keys = KeysPerStatement();
      // The first waiting call always goes, whatever its size; others join
      // while their keys fit (a group is never split).
      while (!queue_.empty() &&
             (batch.empty() ||
              key_count + queue_.front().keys.size() <= most_keys)) {
        Pending& next = queue_.front();
        queued_keys_ -= next.keys.size();
        queued_bytes_ -= next.bytes;
        if (next.context.deadline <= now ||
            (next.context.cancelled && next.context.cancelled())) {
          gone.push_back(std::move(next));
        } else {
          key_count += next.keys.size();
          batch.push_back(std::move(next));
        }
        queue_.pop_front();
      }
    }
    // A lookup that waited past its deadline (or whose caller left) costs no
    // statement.
    for (const Pending& pending : gone) {
      pending.Fail(pending.context.deadline <= absl::Now()
                       ? absl::DeadlineExceededError(
                             "the deadline passed while the lookup was queued")
                       : absl::CancelledError("the caller went away"));
    }
    if (batch.empty()) continue;
    std::vector<store::ExerciseKey> keys;
    std::vector<common::CallContext> contexts;
    keys.reserve(key_count);
    contexts.reserve(batch.size());
    for (const Pending& pending : batch) {
      keys.insert(keys.end(), pending.keys.begin(), pending.keys.end());
      contexts.push_back(pending.context);
    }
    db::CallStatements statements;
    statements.rpc = batch.size() == 1 && batch[0].many ? kManyRpc : kRpc;
    absl::StatusOr<std::vector<Result>> found;
    const absl::Time started = absl::Now();
    {
      db::CountStatementsScope counting(&statements);
      // One key: the single-key statement, as cheap as before batching.
      found = keys.size() == 1
                  ? std::vector<Result>{AsResult(
                        store_.Lookup(contexts[0], keys[0]))}
                  : store_.LookupMany(BatchContext(contexts), keys);
    }
    // Finishing a batch's calls (building each response and handing it to
    // gRPC) costs about half as long as a batch waits on PostgreSQL. When
    // lookups are already waiting, another executor thread finishes this
    // batch while this one sends the next query, so the single batch in
    // flight stays large. With nothing waiting there is nothing to overlap:
    // finishing here saves a thread hand-off.
    auto finish = std::make_shared<Finished>(
        Finished{std::move(batch), std::move(found), statements});
    bool more_waiting;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      statement_time_ = statement_time_ * 0.8 + (absl::Now() - started) * 0.2;
      more_waiting = !queue_.empty();
    }
    if (!more_waiting || !executor_.Post([finish] { finish->Run(); })) {
      finish->Run();
    }
  }
}

void LookupBatcher::Finished::Run() {
  size_t next = 0;  // the first result of the next member
  for (const Pending& member : batch) {
    const size_t count = member.keys.size();
    if (!found.ok()) {
      member.Fail(found.status());
    } else if (member.many) {
      // A bad row fails its key only.
      std::vector<Result> mine(
          std::make_move_iterator(found->begin() + next),
          std::make_move_iterator(found->begin() + next + count));
      member.many(std::move(mine), statements);
    } else {
      member.done(std::move((*found)[next]), statements);
    }
    next += count;
  }
}

}  // namespace aves::handlers
