#include <set>

#include <gtest/gtest.h>

#include "server/db/pg_connection.h"

namespace aves::db {
namespace {

TEST(StatementTimeoutTest, GenerousDeadlinesUseTheConfiguredCap) {
  EXPECT_EQ(StatementTimeoutFor(absl::Seconds(60), absl::Milliseconds(9500)),
            absl::Milliseconds(9500));
}

TEST(StatementTimeoutTest, StaysBelowTheRemainingTimeWithAMargin) {
  for (int ms = 20; ms <= 9000; ms += 7) {
    const absl::Duration remaining = absl::Milliseconds(ms);
    const absl::Duration timeout =
        StatementTimeoutFor(remaining, absl::Milliseconds(9500));
    EXPECT_GT(timeout, absl::ZeroDuration()) << ms;
    EXPECT_LT(timeout, remaining) << ms;
    if (ms >= 100) {
      // At most 10% margin and one 1.25x ladder step are lost.
      EXPECT_GE(timeout, remaining * 0.7) << ms;
    }
  }
}

TEST(StatementTimeoutTest, NoTimeLeftMeansZero) {
  EXPECT_EQ(StatementTimeoutFor(absl::Microseconds(900), absl::Seconds(10)),
            absl::ZeroDuration());
  EXPECT_EQ(StatementTimeoutFor(absl::ZeroDuration(), absl::Seconds(10)),
            absl::ZeroDuration());
  EXPECT_EQ(StatementTimeoutFor(-absl::Seconds(1), absl::Seconds(10)),
            absl::ZeroDuration());
}

TEST(StatementTimeoutTest, ShortDeadlinesStillQueryAtTheLaddersFloor) {
  // A frontend's 2, 5 or 10 ms deadline on a cache hit must be tried: the
  // watchdog cancels at the deadline, the server's timeout is a backstop.
  for (int ms : {1, 2, 5, 10, 14}) {
    EXPECT_EQ(StatementTimeoutFor(absl::Milliseconds(ms), absl::Seconds(10)),
              kLadderFloor)
        << ms;
  }
}

TEST(StatementTimeoutTest, IsMonotoneAndStableForSimilarDeadlines) {
  absl::Duration previous = absl::ZeroDuration();
  std::set<int64_t> distinct;
  for (int ms = 1000; ms <= 1100; ++ms) {
    const absl::Duration timeout =
        StatementTimeoutFor(absl::Milliseconds(ms), absl::Seconds(10));
    EXPECT_GE(timeout, previous);
    previous = timeout;
    distinct.insert(absl::ToInt64Milliseconds(timeout));
  }
  // Calls whose deadlines differ by 10% share the session's value: no SET each.
  EXPECT_LE(distinct.size(), 2u);
}

}  // namespace
}  // namespace aves::db
