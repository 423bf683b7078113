// LookupCache and the invalidation payloads, as pure logic: hits and
// remembered misses, expiry, the bounds in entries (LRU) and bytes, a
// learner's invalidation, the epoch that drops a fill older than a write,
// and the bypass.
#include "server/store/lookup_cache.h"

#include <memory>
#include <string>

#include <absl/strings/str_format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/store/cache_invalidation_feed.h"

namespace aves::store {
namespace {

using ::testing::ElementsAre;

std::string User(int n) {
  return absl::StrFormat("00000000-0000-4000-8000-%012d", n);
}

ExerciseKey Key(int user, int difficulty = 1,
                std::optional<std::string> topic = std::nullopt) {
  return ExerciseKey{User(user), "identify", difficulty, std::move(topic)};
}

LookupCache::Entry Found(int user, const std::string& data = "{}",
                         std::optional<absl::Time> expires_at = {}) {
  auto entry = std::make_shared<ExerciseEntry>();
  entry->id = "id-" + std::to_string(user);
  entry->user_id = User(user);
  entry->exercise_type = "identify";
  entry->difficulty_level = 1;
  entry->exercise_data = data;
  entry->expires_at = expires_at;
  return entry;
}

LookupCacheOptions Options(size_t entries, size_t bytes, int shards = 1) {
  LookupCacheOptions options;
  options.max_entries = entries;
  options.max_bytes = bytes;
  options.negative_ttl = absl::Seconds(1);
  options.shards = shards;
  return options;
}

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

// Fills `key` as a lookup that just read it would.
void FillNow(LookupCache& cache, const ExerciseKey& key,
             const LookupCache::Entry& found, absl::Time now = kNow) {
  const LookupCache::Probe probe = cache.Get(key, now);
  ASSERT_FALSE(probe.hit);
  cache.Fill(key, found, probe.epoch, now);
}

TEST(LookupCacheTest, AnswersWhatWasFilledAndRemembersMissesForTheirTtl) {
  LookupCache cache(Options(100, 1 << 20, 4));
  FillNow(cache, Key(1), Found(1, R"({"a": 1})"));
  FillNow(cache, Key(2), nullptr);
  LookupCache::Probe hit = cache.Get(Key(1), kNow);
  ASSERT_TRUE(hit.hit);
  ASSERT_NE(hit.entry, nullptr);
  EXPECT_EQ(hit.entry->exercise_data, R"({"a": 1})");
  LookupCache::Probe miss = cache.Get(Key(2), kNow + absl::Milliseconds(999));
  EXPECT_TRUE(miss.hit);
  EXPECT_EQ(miss.entry, nullptr) << "a remembered miss";
  EXPECT_FALSE(cache.Get(Key(2), kNow + absl::Seconds(1)).hit);
  // Other topics, difficulties and "any topic" are other keys.
  EXPECT_FALSE(cache.Get(Key(1, 2), kNow).hit);
  EXPECT_FALSE(cache.Get(Key(1, 1, "birds"), kNow).hit);
  EXPECT_FALSE(cache.Get(Key(1, 1, ""), kNow).hit);
  const LookupCacheStats stats = cache.stats();
  EXPECT_EQ(stats.hits, 1);
  EXPECT_EQ(stats.negative_hits, 1);
  EXPECT_EQ(stats.entries, 1);
  EXPECT_EQ(stats.expirations, 1);
}

TEST(LookupCacheTest, AnEntryIsNeverServedAtOrPastItsExpiry) {
  LookupCache cache(Options(100, 1 << 20));
  const absl::Time expires_at = kNow + absl::Milliseconds(5);
  FillNow(cache, Key(1), Found(1, "{}", expires_at));
  EXPECT_TRUE(cache.Get(Key(1), expires_at - absl::Microseconds(1)).hit);
  EXPECT_FALSE(cache.Get(Key(1), expires_at).hit);
  // An answer already expired when it is filled is not kept.
  FillNow(cache, Key(2), Found(2, "{}", kNow));
  EXPECT_EQ(cache.stats().entries, 0);
}

TEST(LookupCacheTest, TheEntryBoundEvictsTheLeastRecentlyUsed) {
  LookupCache cache(Options(3, 1 << 20));
  for (int user : {1, 2, 3}) FillNow(cache, Key(user), Found(user));
  ASSERT_TRUE(cache.Get(Key(1), kNow).hit);  // 2 is now the oldest
  FillNow(cache, Key(4), Found(4));
  EXPECT_TRUE(cache.Get(Key(1), kNow).hit);
  EXPECT_FALSE(cache.Get(Key(2), kNow).hit);
  EXPECT_TRUE(cache.Get(Key(3), kNow).hit);
  EXPECT_TRUE(cache.Get(Key(4), kNow).hit);
  EXPECT_EQ(cache.stats().evictions, 1);
  EXPECT_EQ(cache.stats().entries, 3);
}

TEST(LookupCacheTest, TheByteBoundHoldsAndAnOversizedEntryIsNotKept) {
  const std::string data(1000, 'x');
  const size_t one =
      LookupCache::ChargedBytes(LookupCache::KeyText(Key(10)), Found(10, data));
  LookupCache cache(Options(1000, 5 * one));
  for (int user = 10; user < 30; ++user) {  // entries of one size
    FillNow(cache, Key(user), Found(user, data));
    EXPECT_LE(cache.stats().bytes, static_cast<int64_t>(5 * one));
  }
  EXPECT_EQ(cache.stats().entries, 5);
  EXPECT_EQ(cache.stats().evictions, 15);
  FillNow(cache, Key(99), Found(99, std::string(6 * one, 'y')));
  EXPECT_FALSE(cache.Get(Key(99), kNow).hit);
  EXPECT_EQ(cache.stats().entries, 5) << "nothing evicted for it either";
}

TEST(LookupCacheTest, InvalidatingALearnerDropsEveryKeyOfTheirsOnly) {
  LookupCache cache(Options(100, 1 << 20, 8));
  FillNow(cache, Key(1, 1), Found(1));
  FillNow(cache, Key(1, 2, "birds"), nullptr);
  FillNow(cache, Key(2, 1), Found(2));
  cache.InvalidateUsers({User(1)});
  EXPECT_FALSE(cache.Get(Key(1, 1), kNow).hit);
  EXPECT_FALSE(cache.Get(Key(1, 2, "birds"), kNow).hit);
  EXPECT_TRUE(cache.Get(Key(2, 1), kNow).hit);
  EXPECT_EQ(cache.stats().invalidations, 2);
  EXPECT_EQ(cache.stats().entries, 1);
}

TEST(LookupCacheTest, AFillReadBeforeAWriteIsDropped) {
  LookupCache cache(Options(100, 1 << 20));
  const LookupCache::Probe before = cache.Get(Key(1), kNow);
  cache.InvalidateUsers({User(1)});  // a write lands while the lookup reads
  cache.Fill(Key(1), Found(1, "old"), before.epoch, kNow);
  EXPECT_FALSE(cache.Get(Key(1), kNow).hit);
  EXPECT_EQ(cache.stats().stale_fills, 1);
  // And read after it, kept.
  FillNow(cache, Key(1), Found(1, "new"));
  EXPECT_EQ(cache.Get(Key(1), kNow).entry->exercise_data, "new");
}

TEST(LookupCacheTest, BypassedNothingIsServedOrKeptAndItComesBackEmpty) {
  LookupCache cache(Options(100, 1 << 20));
  FillNow(cache, Key(1), Found(1));
  const LookupCache::Probe in_flight = cache.Get(Key(2), kNow);
  cache.SetBypass(true);
  EXPECT_FALSE(cache.Get(Key(1), kNow).hit);
  const LookupCache::Probe during = cache.Get(Key(3), kNow);
  cache.Fill(Key(3), Found(3), during.epoch, kNow);
  cache.SetBypass(false);
  // Begun before the bypass or during it: not kept.
  cache.Fill(Key(2), Found(2), in_flight.epoch, kNow);
  cache.Fill(Key(3), Found(3), during.epoch, kNow);
  EXPECT_EQ(cache.stats().entries, 0);
  EXPECT_FALSE(cache.Get(Key(1), kNow).hit);
  FillNow(cache, Key(1), Found(1));
  EXPECT_TRUE(cache.Get(Key(1), kNow).hit);
  EXPECT_GE(cache.stats().flushes, 2);
}

TEST(LookupCacheTest, AZeroNegativeTtlRemembersNoMiss) {
  LookupCacheOptions options = Options(100, 1 << 20);
  options.negative_ttl = absl::ZeroDuration();
  LookupCache cache(options);
  FillNow(cache, Key(1), nullptr);
  EXPECT_FALSE(cache.Get(Key(1), kNow).hit);
  EXPECT_EQ(cache.stats().entries, 0) << "nothing kept that is never served";
  FillNow(cache, Key(2), Found(2));
  EXPECT_TRUE(cache.Get(Key(2), kNow).hit);
}

TEST(LookupCacheTest, ZeroBoundsAreOff) {
  LookupCache cache(Options(0, 1 << 20));
  EXPECT_FALSE(cache.enabled());
  FillNow(cache, Key(1), Found(1));
  EXPECT_FALSE(cache.Get(Key(1), kNow).hit);
  EXPECT_EQ(cache.stats().entries, 0);
}

TEST(CacheInvalidationTest, ReadsFlushesAndLearnersAndRefusesTheRest) {
  CacheInvalidation parsed;
  ASSERT_TRUE(ParseCacheInvalidation("flush", &parsed));
  EXPECT_TRUE(parsed.flush);
  ASSERT_TRUE(
      ParseCacheInvalidation("users 00000000-0000-4000-8000-000000000001 "
                             "00000000-0000-4000-8000-00000000000A",
                             &parsed));
  EXPECT_FALSE(parsed.flush);
  EXPECT_THAT(parsed.user_ids,
              ElementsAre(User(1), "00000000-0000-4000-8000-00000000000a"))
      << "canonical, as the cache's keys";
  for (const char* bad :
       {"", "users", "users not-a-uuid", "flush now", "FLUSH", "delete x",
        "users 00000000-0000-4000-8000-000000000001 x"}) {
    EXPECT_FALSE(ParseCacheInvalidation(bad, &parsed)) << bad;
  }
}

}  // namespace
}  // namespace aves::store
