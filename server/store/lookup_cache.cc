#include "server/store/lookup_cache.h"

#include <algorithm>

#include <absl/hash/hash.h>
#include <absl/strings/str_cat.h>

namespace aves::store {
namespace {

// What a node costs beside its strings: the list node, two map slots and
// the entry's own struct, rounded up.
constexpr size_t kNodeOverhead = 256;

}  // namespace

LookupCache::LookupCache(LookupCacheOptions options)
    : options_(options),
      enabled_(options.max_entries > 0 && options.max_bytes > 0),
      shard_max_entries_(std::max<size_t>(
          1, (options.max_entries + options.shards - 1) / options.shards)),
      shard_max_bytes_(std::max<size_t>(
          1, (options.max_bytes + options.shards - 1) / options.shards)) {
  shards_.reserve(options.shards);
  for (int i = 0; i < options.shards; ++i)
    shards_.push_back(std::make_unique<Shard>());
}

std::string LookupCache::KeyText(const ExerciseKey& key) {
  // NUL cannot occur in any of these strings (validation refuses it), so the
  // text is unambiguous; the topic's flag tells "any" from "".
  const std::string nul(1, '\0');
  return absl::StrCat(
      key.user_id, nul, key.exercise_type, nul, key.difficulty_level, nul,
      key.topic.has_value() ? "t" : "-", key.topic.value_or(""));
}

LookupCache::Shard& LookupCache::ShardOf(const std::string& user_id) {
  return *shards_[absl::Hash<std::string>()(user_id) % shards_.size()];
}

size_t LookupCache::ChargedBytes(const std::string& key_text,
                                 const Entry& found) {
  size_t bytes = kNodeOverhead + 2 * key_text.size();
  if (found != nullptr) {
    bytes += sizeof(ExerciseEntry) + found->id.size() + found->user_id.size() +
             found->exercise_type.size() + found->topic.value_or("").size() +
             found->exercise_data.size();
  }
  return bytes;
}

LookupCache::Probe LookupCache::Get(const ExerciseKey& key, absl::Time now) {
  Probe probe;
  if (!enabled_) return probe;
  Shard& shard = ShardOf(key.user_id);
  const std::string text = KeyText(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  probe.epoch = shard.epoch;
  if (bypassed_.load(std::memory_order_acquire)) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return probe;
  }
  auto found = shard.by_key.find(text);
  if (found == shard.by_key.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return probe;
  }
  auto node = found->second;
  if (now >= node->good_until) {
    // Past expires_at (or a miss past its negative TTL): never served.
    Erase(shard, node);
    expirations_.fetch_add(1, std::memory_order_relaxed);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return probe;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, node);
  probe.hit = true;
  probe.entry = node->found;
  (probe.entry ? hits_ : negative_hits_)
      .fetch_add(1, std::memory_order_relaxed);
  return probe;
}

void LookupCache::Fill(const ExerciseKey& key, const Entry& found,
                       uint64_t epoch, absl::Time now) {
  if (!enabled_) return;
  if (found == nullptr && options_.negative_ttl <= absl::ZeroDuration()) {
    return;  // misses are not remembered
  }
  absl::Time good_until = now + options_.negative_ttl;
  if (found != nullptr) {
    good_until = found->expires_at.value_or(absl::InfiniteFuture());
    if (now >= good_until) return;
  }
  std::string text = KeyText(key);
  const size_t bytes = ChargedBytes(text, found);
  if (bytes > shard_max_bytes_) return;  // larger than a shard may hold
  Shard& shard = ShardOf(key.user_id);
  std::lock_guard<std::mutex> lock(shard.mutex);
  if (bypassed_.load(std::memory_order_acquire) || shard.epoch != epoch) {
    stale_fills_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (auto old = shard.by_key.find(text); old != shard.by_key.end()) {
    Erase(shard, old->second);
  }
  while (!shard.lru.empty() && (shard.lru.size() >= shard_max_entries_ ||
                                shard.bytes + bytes > shard_max_bytes_)) {
    Erase(shard, std::prev(shard.lru.end()));
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  shard.lru.push_front(Node{text, key.user_id, found, good_until, bytes});
  auto node = shard.lru.begin();
  shard.by_key.emplace(std::move(text), node);
  shard.by_user[key.user_id].push_back(node);
  shard.bytes += bytes;
  entries_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed);
  fills_.fetch_add(1, std::memory_order_relaxed);
}

void LookupCache::Erase(Shard& shard, std::list<Node>::iterator node) {
  shard.by_key.erase(node->key);
  if (auto user = shard.by_user.find(node->user); user != shard.by_user.end()) {
    auto& nodes = user->second;
    nodes.erase(std::remove(nodes.begin(), nodes.end(), node), nodes.end());
    if (nodes.empty()) shard.by_user.erase(user);
  }
  shard.bytes -= node->bytes;
  entries_.fetch_sub(1, std::memory_order_relaxed);
  bytes_.fetch_sub(static_cast<int64_t>(node->bytes),
                   std::memory_order_relaxed);
  shard.lru.erase(node);
}

void LookupCache::InvalidateUsers(const std::vector<std::string>& user_ids) {
  if (!enabled_) return;
  for (const std::string& user_id : user_ids) {
    Shard& shard = ShardOf(user_id);
    std::lock_guard<std::mutex> lock(shard.mutex);
    ++shard.epoch;
    auto user = shard.by_user.find(user_id);
    if (user == shard.by_user.end()) continue;
    // Erase edits the learner's list: work on a copy.
    const auto nodes = user->second;
    for (auto node : nodes) Erase(shard, node);
    invalidations_.fetch_add(nodes.size(), std::memory_order_relaxed);
  }
}

void LookupCache::Clear(Shard& shard) {
  ++shard.epoch;
  entries_.fetch_sub(static_cast<int64_t>(shard.lru.size()),
                     std::memory_order_relaxed);
  bytes_.fetch_sub(static_cast<int64_t>(shard.bytes),
                   std::memory_order_relaxed);
  shard.lru.clear();
  shard.by_key.clear();
  shard.by_user.clear();
  shard.bytes = 0;
}

void LookupCache::Flush() {
  if (!enabled_) return;
  for (auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard->mutex);
    Clear(*shard);
  }
  flushes_.fetch_add(1, std::memory_order_relaxed);
}

void LookupCache::SetBypass(bool bypass) {
  if (bypass) {
    bypassed_.store(true, std::memory_order_release);
    Flush();
  } else {
    Flush();
    bypassed_.store(false, std::memory_order_release);
  }
}

LookupCacheStats LookupCache::stats() const {
  LookupCacheStats stats;
  stats.hits = hits_.load(std::memory_order_relaxed);
  stats.negative_hits = negative_hits_.load(std::memory_order_relaxed);
  stats.misses = misses_.load(std::memory_order_relaxed);
  stats.fills = fills_.load(std::memory_order_relaxed);
  stats.stale_fills = stale_fills_.load(std::memory_order_relaxed);
  stats.evictions = evictions_.load(std::memory_order_relaxed);
  stats.expirations = expirations_.load(std::memory_order_relaxed);
  stats.invalidations = invalidations_.load(std::memory_order_relaxed);
  stats.flushes = flushes_.load(std::memory_order_relaxed);
  stats.entries = entries_.load(std::memory_order_relaxed);
  stats.bytes = bytes_.load(std::memory_order_relaxed);
  stats.enabled = enabled_;
  stats.bypassed = bypassed_.load(std::memory_order_relaxed);
  stats.max_entries = options_.max_entries;
  stats.max_bytes = options_.max_bytes;
  return stats;
}

}  // namespace aves::store
