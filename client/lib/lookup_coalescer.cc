#include "client/lib/lookup_coalescer.h"

#include <utility>

#include <absl/time/clock.h>

#include "client/lib/channel.h"

namespace aves::client {

namespace v1 = data::v1;

struct LookupCoalescer::Waiter {
  v1::GetExerciseRequest key;
  std::string key_bytes;  // the serialized key: duplicates share a slot
  absl::Time deadline;
  Done done;
  int attempts = 0;
  bool alone = false;  // its batch was refused: it goes as a call of its own
  bool answered = false;
  std::multimap<absl::Time, WaiterPtr>::iterator deadline_entry;
};

struct LookupCoalescer::Call {
  grpc::ClientContext context;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::GetExerciseResponse>>
      single_reader;
  std::unique_ptr<
      grpc::ClientAsyncResponseReader<v1::BatchGetExercisesResponse>>
      batch_reader;
  bool single = false;  // one key: a plain GetExercise
  v1::GetExerciseRequest single_request;
  v1::GetExerciseResponse single_response;
  v1::BatchGetExercisesRequest request;
  v1::BatchGetExercisesResponse response;
  std::vector<std::vector<WaiterPtr>> members;  // per key sent, in order
};

LookupCoalescer::LookupCoalescer(v1::ExerciseCacheService::Stub* stub,
                                 Options options)
    : stub_(stub), options_(options) {
  poller_ = std::thread([this] { PollCompletions(); });
  deadline_watcher_ = std::thread([this] { WatchDeadlines(); });
}

void LookupCoalescer::PollCompletions() {
  void* tag = nullptr;
  bool ok = false;
  while (completions_.Next(&tag, &ok)) {
    // Each call's Finish carries a reference to it as its tag.
    std::unique_ptr<std::shared_ptr<Call>> call(
        static_cast<std::shared_ptr<Call>*>(tag));
    OnCallDone(*call, (*call)->status);
  }
}

LookupCoalescer::~LookupCoalescer() {
  Ready ready;
  std::vector<std::shared_ptr<Call>> to_cancel;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    while (!deadlines_.empty()) {
      FinishLocked(deadlines_.begin()->second,
                   absl::CancelledError("the cache client is going away"),
                   &ready);
    }
    pending_.clear();
    to_cancel.assign(out_.begin(), out_.end());
  }
  changed_.notify_all();
  deadline_watcher_.join();
  for (auto& [done, result] : ready) done(std::move(result));
  for (const auto& call : to_cancel) call->context.TryCancel();
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return out_.empty(); });
  }
  completions_.Shutdown();
  poller_.join();
}

int64_t LookupCoalescer::calls_sent() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return calls_sent_;
}

LookupCoalescer::Ticket LookupCoalescer::Get(const v1::GetExerciseRequest& key,
                                             absl::Time deadline, Done done) {
  auto waiter = std::make_shared<Waiter>();
  waiter->key = key;
  waiter->key_bytes = key.SerializeAsString();
  waiter->deadline = deadline;
  waiter->done = std::move(done);
  std::vector<std::shared_ptr<Call>> to_issue;
  bool accepted = false;
  bool earliest = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      waiter->deadline_entry = deadlines_.emplace(deadline, waiter);
      earliest = waiter->deadline_entry == deadlines_.begin();
      pending_.push_back(waiter);
      FillSlotsLocked(&to_issue);
      accepted = true;
    }
  }
  if (!accepted) {
    waiter->done(absl::CancelledError("the cache client is going away"));
    return {};
  }
  // The deadline watcher sleeps until the earliest deadline: woken only
  // when that moved (waking it on every Get cost a context switch each).
  if (earliest) changed_.notify_all();
  for (const auto& call : to_issue) Issue(call);
  return waiter;
}

void LookupCoalescer::Cancel(const Ticket& ticket) {
  WaiterPtr waiter = std::static_pointer_cast<Waiter>(ticket.lock());
  if (waiter == nullptr) return;
  Ready ready;
  std::vector<std::shared_ptr<Call>> abandoned;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (waiter->answered) return;
    FinishLocked(waiter,
                 absl::CancelledError("the caller cancelled the lookup"),
                 &ready);
    abandoned = AbandonedLocked();
  }
  for (auto& [done, result] : ready) done(std::move(result));
  for (const auto& call : abandoned) call->context.TryCancel();
}

std::vector<std::shared_ptr<LookupCoalescer::Call>>
LookupCoalescer::AbandonedLocked() const {
  std::vector<std::shared_ptr<Call>> abandoned;
  for (const auto& call : out_) {
    bool anyone_waits = false;
    for (const auto& waiters : call->members) {
      for (const WaiterPtr& waiter : waiters) {
        anyone_waits = anyone_waits || !waiter->answered;
      }
    }
    if (!anyone_waits) abandoned.push_back(call);
  }
  return abandoned;
}

void LookupCoalescer::FillSlotsLocked(std::vector<std::shared_ptr<Call>>* out) {
  while (!stopping_ && static_cast<int>(out_.size()) < options_.max_in_flight &&
         !pending_.empty()) {
    auto call = std::make_shared<Call>();
    std::map<std::string, size_t> slot_of;  // key bytes -> members index
    absl::Time latest = absl::InfinitePast();
    while (!pending_.empty()) {
      const WaiterPtr& next = pending_.front();
      if (next->answered) {
        pending_.pop_front();
        continue;
      }
      auto slot = slot_of.find(next->key_bytes);
      const bool new_key = slot == slot_of.end();
      // A refused batch's keys go one call each; a call stops at max_batch
      // distinct keys.
      if (new_key && !call->members.empty() &&
          (next->alone || call->members.front().front()->alone ||
           static_cast<int>(call->members.size()) >= options_.max_batch)) {
        break;
      }
      if (new_key) {
        slot_of.emplace(next->key_bytes, call->members.size());
        call->members.push_back({next});
      } else {
        call->members[slot->second].push_back(next);
      }
      latest = std::max(latest, next->deadline);
      pending_.pop_front();
    }
    if (call->members.empty()) return;
    call->single = call->members.size() == 1;
    if (call->single) {
      call->single_request = call->members.front().front()->key;
    } else {
      for (const auto& waiters : call->members) {
        *call->request.add_requests() = waiters.front()->key;
      }
    }
    call->context.set_deadline(absl::ToChronoTime(latest));
    out_.insert(call);
    ++calls_sent_;
    out->push_back(std::move(call));
  }
}

void LookupCoalescer::Issue(const std::shared_ptr<Call>& call) {
  auto* tag = new std::shared_ptr<Call>(call);  // PollCompletions frees it
  if (call->single) {
    call->single_reader = stub_->PrepareAsyncGetExercise(
        &call->context, call->single_request, &completions_);
    call->single_reader->StartCall();
    call->single_reader->Finish(&call->single_response, &call->status, tag);
  } else {
    call->batch_reader = stub_->PrepareAsyncBatchGetExercises(
        &call->context, call->request, &completions_);
    call->batch_reader->StartCall();
    call->batch_reader->Finish(&call->response, &call->status, tag);
  }
}

void LookupCoalescer::OnCallDone(const std::shared_ptr<Call>& call,
                                 const grpc::Status& status) {
  Ready ready;
  std::vector<std::shared_ptr<Call>> to_issue;
  {
    // The call keeps its slot until its callers have been answered, so
    // that the Gets they make from their callbacks go out together in the
    // next call: freed first, the slot went to the first of them alone and
    // batches alternated between one key and all the others.
    std::lock_guard<std::mutex> lock(mutex_);
    const absl::Time now = absl::Now();
    const bool answer_count_ok =
        call->single || !status.ok() ||
        call->response.results_size() == static_cast<int>(call->members.size());
    std::vector<WaiterPtr> again;  // to the front of the queue, in order
    for (size_t i = 0; i < call->members.size(); ++i) {
      Result result = std::optional<v1::Exercise>();
      if (status.ok() && !answer_count_ok) {
        result = absl::InternalError(
            "BatchGetExercises answered a different number of keys");
      } else if (status.ok() && call->single) {
        result = std::optional(call->single_response.exercise());
      } else if (status.ok()) {
        const v1::ExerciseResult& answer =
            call->response.results(static_cast<int>(i));
        if (answer.found()) result = std::optional(answer.exercise());
      } else if (call->single &&
                 status.error_code() == grpc::StatusCode::NOT_FOUND) {
        // A miss: the default nullopt.
      } else if (!call->single &&
                 status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
        // One caller's bad key refused the batch: each key alone, so only
        // its own callers hear of it.
        for (const WaiterPtr& waiter : call->members[i]) {
          if (waiter->answered) continue;
          waiter->alone = true;
          again.push_back(waiter);
        }
        continue;
      } else if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
        for (const WaiterPtr& waiter : call->members[i]) {
          if (waiter->answered) continue;
          if (++waiter->attempts < options_.max_attempts &&
              now < waiter->deadline) {
            again.push_back(waiter);
          } else {
            FinishLocked(waiter, FromGrpcStatus(status), &ready);
          }
        }
        continue;
      } else {
        result = FromGrpcStatus(status);
      }
      for (const WaiterPtr& waiter : call->members[i]) {
        if (!waiter->answered) FinishLocked(waiter, result, &ready);
      }
    }
    pending_.insert(pending_.begin(), again.begin(), again.end());
  }
  // The destructor waits for out_ to empty, so the coalescer lives on here.
  for (auto& [done, result] : ready) done(std::move(result));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    out_.erase(call);
    FillSlotsLocked(&to_issue);
    // Under the lock: the destructor, waiting for out_ to empty, may free
    // the coalescer as soon as it can take the lock. Nothing below touches
    // a member unless a call was issued, and then out_ holds it.
    changed_.notify_all();
  }
  for (const auto& next : to_issue) Issue(next);
}

void LookupCoalescer::FinishLocked(WaiterPtr waiter, Result result,
                                   Ready* ready) {
  waiter->answered = true;
  deadlines_.erase(waiter->deadline_entry);
  ready->emplace_back(std::move(waiter->done), std::move(result));
}

void LookupCoalescer::WatchDeadlines() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (deadlines_.empty()) {
      changed_.wait(lock);
      continue;
    }
    const absl::Time earliest = deadlines_.begin()->first;
    if (absl::Now() < earliest) {
      changed_.wait_until(lock, absl::ToChronoTime(earliest));
      continue;
    }
    Ready ready;
    const absl::Time now = absl::Now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      FinishLocked(deadlines_.begin()->second,
                   absl::DeadlineExceededError(
                       "the deadline passed before the lookup was answered"),
                   &ready);
    }
    // A call every member of which has given up is cancelled.
    const std::vector<std::shared_ptr<Call>> abandoned = AbandonedLocked();
    lock.unlock();
    for (auto& [done, result] : ready) done(std::move(result));
    for (const auto& call : abandoned) call->context.TryCancel();
    lock.lock();
  }
}

}  // namespace aves::client
