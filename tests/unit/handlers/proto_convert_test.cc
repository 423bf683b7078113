// Conversions into protobuf's well-known types, which abort the process on
// a value outside their range (TimeUtil's CHECK): every such conversion
// clamps, so no stored or computed value can take avesd down.
#include "server/handlers/proto_convert.h"

#include <gtest/gtest.h>

#include "server/store/timestamps.h"

namespace aves::handlers {
namespace {

TEST(ProtoConvertTest, TimestampsOutsideTheApiRangeClampInsteadOfAborting) {
  const google::protobuf::Timestamp far = ToTimestamp(absl::FromCivil(
      absl::CivilSecond(20000, 1, 1, 0, 0, 0), absl::UTCTimeZone()));
  EXPECT_EQ(far.seconds(), store::kApiEndUnixSeconds - 1);
  EXPECT_EQ(far.nanos(), 999'999'000);
  EXPECT_EQ(ToTimestamp(absl::InfiniteFuture()).seconds(),
            store::kApiEndUnixSeconds - 1);
  EXPECT_EQ(ToTimestamp(absl::InfinitePast()).seconds(),
            store::kApiMinUnixSeconds);
  EXPECT_EQ(ToTimestamp(absl::FromUnixSeconds(1'700'000'000)).seconds(),
            1'700'000'000);
}

TEST(ProtoConvertTest, DurationsOutsideTheApiRangeClampInsteadOfAborting) {
  EXPECT_EQ(ToDuration(absl::InfiniteDuration()).seconds(), 315'576'000'000);
  EXPECT_EQ(ToDuration(-absl::InfiniteDuration()).seconds(), -315'576'000'000);
  EXPECT_EQ(ToDuration(absl::Hours(24 * 365 * 20000)).seconds(),
            315'576'000'000);
  EXPECT_EQ(ToDuration(absl::Milliseconds(1500)).nanos(), 500'000'000);
}

TEST(ProtoConvertTest, AnUnsetCellIsMissingNotNull) {
  aves::data::v1::Cell unset;
  EXPECT_EQ(FromProto(unset).type, bulk::CellValue::Type::kMissing);
  aves::data::v1::Cell null;
  null.set_null_value({});
  EXPECT_EQ(FromProto(null).type, bulk::CellValue::Type::kNull);
}

}  // namespace
}  // namespace aves::handlers
