// CacheInvalidationFeed: keeps the LookupCache coherent with every writer of
// exercise_cache. One thread holds one PostgreSQL connection of its own
// (outside the pool: LISTEN ties up a session) on channel aves_exercise_cache
// (migration 020) and turns each notification into InvalidateUsers or Flush.
// A payload it cannot read flushes: any role that may connect can NOTIFY.
//
// The cache is bypassed (nothing served, nothing kept) until the feed first
// listens, and again from the moment its connection is lost until it listens
// anew: notifications sent meanwhile are gone for good. A connection that
// dies silently (a peer or middlebox that stops answering, its kernel still
// acknowledging) is found by a heartbeat query every `heartbeat`: a
// watchdog thread bypasses the cache and drops the connection once one has
// gone unanswered for `dead_after`. So a silent loss can leave entries stale
// for at most about heartbeat + dead_after (AVES_FEED_HEARTBEAT_MS +
// AVES_FEED_DEAD_AFTER_MS), and a loss PostgreSQL or the kernel reports for
// no longer than it takes to report it.
#ifndef AVES_SERVER_STORE_CACHE_INVALIDATION_FEED_H_
#define AVES_SERVER_STORE_CACHE_INVALIDATION_FEED_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <absl/status/status.h>
#include <absl/strings/string_view.h>
#include <absl/time/time.h>

#include "server/store/lookup_cache.h"

namespace aves::db {
class Listener;
}  // namespace aves::db

namespace aves::store {

// One payload of migration 020's trigger: "flush", or "users" and learners'
// UUIDs. False when it is neither.
struct CacheInvalidation {
  bool flush = false;
  std::vector<std::string> user_ids;  // canonical text
};
bool ParseCacheInvalidation(absl::string_view payload, CacheInvalidation* out);

class CacheInvalidationFeed {
 public:
  struct Options {
    absl::Duration heartbeat = absl::Seconds(5);    // AVES_FEED_HEARTBEAT_MS
    absl::Duration dead_after = absl::Seconds(15);  // AVES_FEED_DEAD_AFTER_MS
  };

  // `cache` is bypassed from here until the feed listens.
  CacheInvalidationFeed(std::string conninfo, LookupCache& cache,
                        Options options);
  ~CacheInvalidationFeed();  // Stop()

  void Start();
  void Stop();  // idempotent; the cache stays bypassed

  bool listening() const { return listening_.load(); }
  // Notifications received (each one an invalidation or a flush).
  uint64_t messages() const { return messages_.load(); }
  // Times the connection was lost (each one a flush and a bypass).
  uint64_t disconnects() const { return disconnects_.load(); }
  // For start-up and tests.
  bool WaitUntilListening(absl::Duration timeout);

 private:
  void Run();
  absl::Status Listen(db::Listener& listener);
  bool Stopping();
  void WatchdogLoop(db::Listener* listener);

  const std::string conninfo_;
  LookupCache& cache_;
  const Options options_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;           // mutex_
  db::Listener* active_ = nullptr;  // mutex_: for Stop's Interrupt
  // When the heartbeat in progress began (InfiniteFuture: none); mutex_.
  absl::Time heartbeat_started_ = absl::InfiniteFuture();
  bool run_done_ = false;  // mutex_: the watchdog ends with the thread
  std::atomic<bool> listening_{false};
  std::atomic<uint64_t> messages_{0};
  std::atomic<uint64_t> disconnects_{0};
};

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_CACHE_INVALIDATION_FEED_H_
