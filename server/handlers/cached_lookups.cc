#include "server/handlers/cached_lookups.h"

#include <atomic>
#include <utility>

#include <absl/status/status.h>
#include <absl/time/clock.h>

namespace aves::handlers {
namespace {

// The lookup's answer in a batch member's form.
LookupBatcher::Result FromCache(const store::LookupCache::Entry& entry) {
  if (entry == nullptr) return std::optional<store::ExerciseEntry>();
  return std::optional<store::ExerciseEntry>(*entry);
}

store::LookupCache::Entry ToCache(const LookupBatcher::Result& result) {
  if (!result->has_value()) return nullptr;
  return std::make_shared<const store::ExerciseEntry>(**result);
}

bool StillWaiting(const common::CallContext& context) {
  return context.deadline > absl::Now() &&
         !(context.cancelled && context.cancelled());
}

}  // namespace

// One GetMany call: its keys' answers arrive from hits, its own group's
// statement and other calls' flights, in any order and on any thread.
struct CachedLookups::Many {
  std::vector<Result> results;
  // One per key, plus one held while GetMany is still handing keys out.
  std::atomic<size_t> remaining{1};
  LookupBatcher::ManyDone done;
  std::mutex mutex;
  db::CallStatements statements;  // mutex; the largest that answered

  void One(size_t index, Result result, const db::CallStatements& by) {
    results[index] = std::move(result);
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (by.count > statements.count) statements = by;
    }
    Release();
  }
  void Release() {
    if (remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    done(std::move(results), statements);
  }
};

bool CachedLookups::Join(const std::string& key_text, uint64_t epoch,
                         store::ExerciseKey& key,
                         const common::CallContext& context,
                         LookupBatcher::Done& done) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [flight, started] = flights_.try_emplace(key_text);
  if (started) {
    flight->second.epoch = epoch;
    return false;
  }
  flight->second.waiters.push_back(
      Waiter{std::move(key), context, std::move(done)});
  return true;
}

void CachedLookups::Land(const store::ExerciseKey& key,
                         const std::string& key_text, const Result& result,
                         const db::CallStatements& statements) {
  uint64_t epoch = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto flight = flights_.find(key_text);
    if (flight != flights_.end()) epoch = flight->second.epoch;
  }
  // Filled before the flight ends, so that no lookup arriving meanwhile
  // starts a second statement for the key.
  if (result.ok()) cache_.Fill(key, ToCache(result), epoch, absl::Now());
  std::vector<Waiter> waiters;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto flight = flights_.find(key_text);
    if (flight != flights_.end()) {
      waiters = std::move(flight->second.waiters);
      flights_.erase(flight);
    }
  }
  const bool ended_by_its_caller =
      !result.ok() && (absl::IsDeadlineExceeded(result.status()) ||
                       absl::IsCancelled(result.status()));
  for (Waiter& waiter : waiters) {
    if (ended_by_its_caller && StillWaiting(waiter.context)) {
      batcher_.Submit(std::move(waiter.key), std::move(waiter.context),
                      std::move(waiter.done));
    } else {
      waiter.done(result, statements);
    }
  }
}

void CachedLookups::Get(store::ExerciseKey key, common::CallContext context,
                        LookupBatcher::Done done) {
  if (!cache_.enabled()) {
    batcher_.Submit(std::move(key), std::move(context), std::move(done));
    return;
  }
  const store::LookupCache::Probe probe = cache_.Get(key, absl::Now());
  if (probe.hit) {
    done(FromCache(probe.entry), db::CallStatements{});
    return;
  }
  std::string key_text = store::LookupCache::KeyText(key);
  store::ExerciseKey flight_key = key;
  if (Join(key_text, probe.epoch, flight_key, context, done)) return;
  batcher_.Submit(std::move(key), std::move(context),
                  [this, flight_key = std::move(flight_key),
                   key_text = std::move(key_text), done = std::move(done)](
                      Result result, const db::CallStatements& statements) {
                    Land(flight_key, key_text, result, statements);
                    done(std::move(result), statements);
                  });
}

void CachedLookups::GetMany(std::vector<store::ExerciseKey> keys,
                            common::CallContext context,
                            LookupBatcher::ManyDone done) {
  if (!cache_.enabled()) {
    batcher_.SubmitMany(std::move(keys), std::move(context), std::move(done));
    return;
  }
  auto many = std::make_shared<Many>();
  many->results.resize(keys.size());
  many->remaining.store(keys.size() + 1);
  many->done = std::move(done);
  const absl::Time now = absl::Now();
  std::vector<store::ExerciseKey> leading;  // the keys whose flight we start
  std::vector<std::string> leading_text;
  std::vector<size_t> leading_index;
  for (size_t i = 0; i < keys.size(); ++i) {
    const store::LookupCache::Probe probe = cache_.Get(keys[i], now);
    if (probe.hit) {
      many->One(i, FromCache(probe.entry), db::CallStatements{});
      continue;
    }
    std::string key_text = store::LookupCache::KeyText(keys[i]);
    // A key repeated in this call joins the flight its first copy started.
    LookupBatcher::Done answer = [many, i](Result result,
                                           const db::CallStatements& by) {
      many->One(i, std::move(result), by);
    };
    store::ExerciseKey key = keys[i];
    if (Join(key_text, probe.epoch, key, context, answer)) continue;
    leading.push_back(std::move(key));
    leading_text.push_back(std::move(key_text));
    leading_index.push_back(i);
  }
  if (!leading.empty()) {
    std::vector<store::ExerciseKey> sent = leading;
    batcher_.SubmitMany(
        std::move(sent), std::move(context),
        [this, many, leading = std::move(leading),
         leading_text = std::move(leading_text),
         leading_index = std::move(leading_index)](
            absl::StatusOr<std::vector<Result>> found,
            const db::CallStatements& statements) {
          for (size_t j = 0; j < leading.size(); ++j) {
            Result result =
                found.ok() ? std::move((*found)[j]) : Result(found.status());
            Land(leading[j], leading_text[j], result, statements);
            many->One(leading_index[j], std::move(result), statements);
          }
        });
  }
  many->Release();
}

}  // namespace aves::handlers
