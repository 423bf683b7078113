// Times read from the database: in the API's range, or an error naming the
// row and column (never an abort, never a failed statement for others).
#include "server/store/timestamps.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace aves::store {
namespace {

using ::aves::testing::StatusIs;
using ::testing::HasSubstr;

TEST(TimestampsTest, TheApiRangeIsProtobufsTimestamp) {
  EXPECT_TRUE(InApiRange(absl::FromUnixSeconds(kApiMinUnixSeconds)));
  EXPECT_FALSE(InApiRange(absl::FromUnixSeconds(kApiMinUnixSeconds) -
                          absl::Microseconds(1)));
  EXPECT_TRUE(InApiRange(absl::FromUnixSeconds(kApiEndUnixSeconds) -
                         absl::Microseconds(1)));
  EXPECT_FALSE(InApiRange(absl::FromUnixSeconds(kApiEndUnixSeconds)));
  EXPECT_FALSE(InApiRange(absl::InfiniteFuture()));
  EXPECT_EQ(absl::FromUnixSeconds(kApiMinUnixSeconds),
            absl::FromCivil(absl::CivilSecond(1, 1, 1, 0, 0, 0),
                            absl::UTCTimeZone()));
  EXPECT_EQ(absl::FromUnixSeconds(kApiEndUnixSeconds),
            absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0),
                            absl::UTCTimeZone()));
}

TEST(TimestampsTest, TheSentinelAndOutOfRangeValuesNameTheirRow) {
  EXPECT_THAT(ApiTime(kUnrepresentableMicros, "batch_jobs", "j1", "created_at"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("batch_jobs row j1: created_at is outside")));
  EXPECT_THAT(ApiTime(kApiEndUnixSeconds * 1'000'000, "t", "r", "c"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  absl::StatusOr<absl::Time> fine = ApiTime(1'000'000, "t", "r", "c");
  ASSERT_OK(fine);
  EXPECT_EQ(*fine, absl::FromUnixSeconds(1));
}

}  // namespace
}  // namespace aves::store
