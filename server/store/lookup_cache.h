// LookupCache: avesd's in-process cache of GetExercise answers, keyed by the
// lookup's key (user_id, exercise_type, difficulty_level, topic or any). It
// holds what a lookup returned, a found entry or a miss (a negative entry),
// bounded in entries and in bytes, in LRU order per shard; shards by learner
// so that readers on different learners never share a lock.
//
// Coherence (ARCHITECTURE.md, "The lookup cache"):
//  - an entry is never served at or past its expires_at, and a miss for at
//    most negative_ttl;
//  - writers invalidate whole learners (InvalidateUsers): PutExercise through
//    this avesd at once, everyone else's writes through the NOTIFY of
//    migration 020 (CacheInvalidationFeed);
//  - a fill carries the epoch its lookup read before it went to PostgreSQL:
//    when an invalidation of its shard came in between, the fill is dropped,
//    since its answer may predate that write;
//  - while the invalidation feed is not listening the cache is bypassed
//    (SetBypass): notifications may be missed, so nothing is served or
//    filled, and it starts empty when it listens again.
#ifndef AVES_SERVER_STORE_LOOKUP_CACHE_H_
#define AVES_SERVER_STORE_LOOKUP_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/container/inlined_vector.h>
#include <absl/time/time.h>

#include "server/store/exercise_cache_store.h"

namespace aves::store {

struct LookupCacheOptions {
  size_t max_entries = 0;  // AVES_CACHE_MAX_ENTRIES; 0: off
  size_t max_bytes = 0;    // AVES_CACHE_MAX_BYTES; 0: off
  absl::Duration negative_ttl = absl::Seconds(1);  // AVES_CACHE_NEGATIVE_TTL_MS
  int shards = 64;
};

struct LookupCacheStats {
  uint64_t hits = 0;
  uint64_t negative_hits = 0;
  uint64_t misses = 0;       // probes that went to PostgreSQL (bypass included)
  uint64_t fills = 0;        // answers stored
  uint64_t stale_fills = 0;  // answers dropped: their shard was invalidated
  uint64_t evictions = 0;    // entries pushed out by the bounds
  uint64_t expirations = 0;  // entries dropped at their expiry
  uint64_t invalidations = 0;  // entries dropped by InvalidateUsers
  uint64_t flushes = 0;
  int64_t entries = 0;
  int64_t bytes = 0;
  bool enabled = false;
  bool bypassed = false;
  size_t max_entries = 0;
  size_t max_bytes = 0;
};

class LookupCache {
 public:
  using Entry = std::shared_ptr<const ExerciseEntry>;

  explicit LookupCache(LookupCacheOptions options);

  bool enabled() const { return enabled_; }

  struct Probe {
    bool hit = false;  // found in the cache: `entry` is the answer
    Entry entry;       // null on a negative hit (a cached miss)
    // On a miss: what Fill needs to know whether the answer is still good.
    uint64_t epoch = 0;
  };
  Probe Get(const ExerciseKey& key, absl::Time now);
  // Stores a lookup's answer (null: a miss) read after Get returned `epoch`.
  void Fill(const ExerciseKey& key, const Entry& found, uint64_t epoch,
            absl::Time now);

  // Drops every entry of these learners (user_id text, canonical).
  void InvalidateUsers(const std::vector<std::string>& user_ids);
  void Flush();
  // Bypassed: every Get misses and no Fill is kept. Turning it on flushes;
  // so does turning it off (what came meanwhile was not kept, but a fill
  // begun before may still land: the flush's epoch stops it).
  void SetBypass(bool bypass);

  LookupCacheStats stats() const;

  // A key as one string, unambiguous (what the cache and singleflight key
  // on).
  static std::string KeyText(const ExerciseKey& key);
  // The bytes one entry is charged (its strings and the bookkeeping).
  static size_t ChargedBytes(const std::string& key_text, const Entry& found);

 private:
  struct Node {
    std::string key;   // KeyText
    std::string user;  // its learner
    Entry found;       // null: a miss
    absl::Time good_until;
    size_t bytes = 0;
  };
  struct Shard {
    std::mutex mutex;
    std::list<Node> lru;  // most recent first
    absl::flat_hash_map<std::string, std::list<Node>::iterator> by_key;
    absl::flat_hash_map<std::string,
                        absl::InlinedVector<std::list<Node>::iterator, 4>>
        by_user;
    size_t bytes = 0;
    uint64_t epoch = 0;  // bumped by every invalidation of this shard
  };
  Shard& ShardOf(const std::string& user_id);
  // Under the shard's lock.
  void Erase(Shard& shard, std::list<Node>::iterator node);
  void Clear(Shard& shard);

  const LookupCacheOptions options_;
  const bool enabled_;
  const size_t shard_max_entries_;
  const size_t shard_max_bytes_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<bool> bypassed_{false};
  std::atomic<uint64_t> hits_{0}, negative_hits_{0}, misses_{0}, fills_{0},
      stale_fills_{0}, evictions_{0}, expirations_{0}, invalidations_{0},
      flushes_{0};
  std::atomic<int64_t> entries_{0}, bytes_{0};
};

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_LOOKUP_CACHE_H_
