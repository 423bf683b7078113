// Rate limits: the setting's format and its defaults, and the token buckets
// (on a driven clock: no sleeping).
#include "server/auth/rate_limits.h"

#include <optional>

#include <absl/time/time.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace aves::auth {
namespace {

using ::aves::testing::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Key;
using ::testing::Not;
using ::testing::Optional;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TEST(RateLimitsTest, DefaultsLimitMaintenanceAndLeaveTheHotPathAlone) {
  const RateLimitTable limits = DefaultRateLimits();
  ASSERT_THAT(limits, Contains(Key("ExerciseCacheService.PurgeExpired")));
  ASSERT_THAT(limits, Contains(Key("AdminService.VerifyIndexes")));
  EXPECT_THAT(limits, Not(Contains(Key("ExerciseCacheService.GetExercise"))));
  for (const auto& [method, limit] : limits) {
    EXPECT_LE(limit.TokensPerSecond(), 1.0) << method;
  }
  absl::StatusOr<RateLimitTable> parsed = ParseRateLimits("");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->size(), limits.size());
}

TEST(RateLimitsTest, RulesAddReplaceAndLiftLimits) {
  absl::StatusOr<RateLimitTable> limits = ParseRateLimits(
      " ExerciseCacheService.GetExercise = 2000/s:4000 ,"
      "AdminService.VerifyIndexes=unlimited,"
      "ExerciseCacheService.PurgeExpired=1/h,");
  ASSERT_TRUE(limits.ok()) << limits.status();
  ASSERT_THAT(*limits, Contains(Key("ExerciseCacheService.GetExercise")));
  const RateLimit& lookups = limits->at("ExerciseCacheService.GetExercise");
  EXPECT_EQ(lookups.count, 2000);
  EXPECT_EQ(lookups.per, absl::Seconds(1));
  EXPECT_EQ(lookups.burst, 4000);
  EXPECT_EQ(lookups.ToString(), "2000/s:4000");
  EXPECT_THAT(*limits, Not(Contains(Key("AdminService.VerifyIndexes"))));
  const RateLimit& purges = limits->at("ExerciseCacheService.PurgeExpired");
  EXPECT_EQ(purges.per, absl::Hours(1));
  EXPECT_EQ(purges.burst, 1) << "burst defaults to the count";
  EXPECT_EQ(purges.ToString(), "1/h");
  EXPECT_THAT(FormatRateLimits(*limits), HasSubstr("2000/s:4000"));
}

TEST(RateLimitsTest, BadRulesAreRefusedNamingTheRule) {
  for (const char* setting : {
           "AdminService.Nope=1/s",                // no such RPC
           "GetExercise=1/s",                      // not Service.Method
           "AdminService.GetPoolStats",            // no '='
           "AdminService.GetPoolStats=0/s",        // zero rate
           "AdminService.GetPoolStats=-1/s",       //
           "AdminService.GetPoolStats=5/day",      // unknown unit
           "AdminService.GetPoolStats=5",          // no unit
           "AdminService.GetPoolStats=5/s:0",      // zero burst
           "AdminService.GetPoolStats=5/s:x",      //
           "AdminService.GetPoolStats=2000000/s",  // past the bound
           "AdminService.GetPoolStats=1/s,AdminService.GetPoolStats=2/s",
       }) {
    EXPECT_THAT(ParseRateLimits(setting),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("AVES_RATE_LIMITS rule")))
        << setting;
  }
  EXPECT_THAT(ParseRateLimits("AdminService.Nope=1/s"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'AdminService.Nope=1/s'")));
}

TEST(RateLimiterTest, BurstThenOneTokenPerInterval) {
  RateLimiter limiter({2, absl::Seconds(1), 3});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.TryAcquire("loader-1", kStart), std::nullopt) << i;
  }
  // Empty: the next token is half a second away at 2/s.
  EXPECT_THAT(limiter.TryAcquire("loader-1", kStart),
              Optional(absl::Milliseconds(500)));
  EXPECT_THAT(limiter.TryAcquire("loader-1", kStart + absl::Milliseconds(400)),
              Optional(absl::Milliseconds(100)));
  EXPECT_EQ(limiter.TryAcquire("loader-1", kStart + absl::Milliseconds(500)),
            std::nullopt);
  // A long idle refills to the burst, not past it.
  const absl::Time later = kStart + absl::Hours(1);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.TryAcquire("loader-1", later), std::nullopt) << i;
  }
  EXPECT_NE(limiter.TryAcquire("loader-1", later), std::nullopt);
}

TEST(RateLimiterTest, CallersHaveBucketsOfTheirOwn) {
  RateLimiter limiter({1, absl::Minutes(1), 1});
  EXPECT_EQ(limiter.TryAcquire("ops-a", kStart), std::nullopt);
  EXPECT_THAT(limiter.TryAcquire("ops-a", kStart), Optional(absl::Minutes(1)));
  EXPECT_EQ(limiter.TryAcquire("ops-b", kStart), std::nullopt);
}

TEST(RateLimiterTest, ManyCallersCannotResetTheOthersLimits) {
  RateLimiter limiter({1, absl::Seconds(10), 1}, /*max_callers=*/2);
  EXPECT_EQ(limiter.TryAcquire("a", kStart), std::nullopt);
  EXPECT_EQ(limiter.TryAcquire("b", kStart), std::nullopt);
  // Full of buckets still refilling: a newcomer is refused, and "a" is
  // still limited (its bucket was not dropped to make room).
  EXPECT_NE(limiter.TryAcquire("c", kStart + absl::Seconds(1)), std::nullopt);
  EXPECT_NE(limiter.TryAcquire("a", kStart + absl::Seconds(1)), std::nullopt);
  EXPECT_EQ(limiter.tracked_callers(), 2u);
  // Once they have refilled they make room.
  EXPECT_EQ(limiter.TryAcquire("c", kStart + absl::Seconds(11)), std::nullopt);
  EXPECT_LE(limiter.tracked_callers(), 2u);
}

TEST(RateLimiterTest, AClockThatStepsBackGivesNoTokens) {
  RateLimiter limiter({1, absl::Seconds(1), 1});
  EXPECT_EQ(limiter.TryAcquire("a", kStart), std::nullopt);
  EXPECT_NE(limiter.TryAcquire("a", kStart - absl::Hours(1)), std::nullopt);
}

}  // namespace
}  // namespace aves::auth
