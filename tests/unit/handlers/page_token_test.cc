#include "server/handlers/page_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace aves::handlers {
namespace {

using ::aves::testing::StatusIs;
using ::testing::HasSubstr;

TEST(PageTokenTest, RoundTrips) {
  PageTokenCodec codec("secret");
  const std::string token = codec.Encode(
      "job_errors", "job=1", {"2026-11-27 00:05:00.123456+00", "42"});
  absl::StatusOr<store::KeysetCursor> cursor =
      codec.Decode(token, "job_errors", "job=1");
  ASSERT_OK(cursor);
  EXPECT_EQ(cursor->sort_key, "2026-11-27 00:05:00.123456+00");
  EXPECT_EQ(cursor->id, "42");
  EXPECT_EQ(token.find_first_of("+/"), std::string::npos) << "URL-safe";
}

TEST(PageTokenTest, RefusesTamperedForeignAndGarbledTokens) {
  PageTokenCodec codec("secret");
  std::string token = codec.Encode("job_errors", "job=1", {"2026-11-27", "42"});
  std::string tampered = token;
  tampered[tampered.size() / 2] =
      tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_THAT(
      codec.Decode(tampered, "job_errors", "job=1"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token:")));
  EXPECT_THAT(codec.Decode(token, "job_errors", "job=2"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("another list or filter")));
  EXPECT_THAT(codec.Decode(token, "jobs", "job=1"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("another list or filter")));
  EXPECT_THAT(PageTokenCodec("other key").Decode(token, "job_errors", "job=1"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not issued by this service")));
  EXPECT_THAT(
      codec.Decode("%%%", "job_errors", "job=1"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token:")));
  EXPECT_THAT(
      codec.Decode("", "job_errors", "job=1"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token:")));
}

TEST(PageTokenTest, TokensExpire) {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  PageTokenCodec codec("secret", absl::Hours(24), [&now] { return now; });
  const std::string token = codec.Encode("jobs", "", {"k", "1"});
  now += absl::Hours(23);
  EXPECT_OK(codec.Decode(token, "jobs", ""));
  now += absl::Hours(2);
  EXPECT_THAT(codec.Decode(token, "jobs", ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("page_token: expired")));
}

TEST(PageTokenTest, PageSizes) {
  EXPECT_THAT(PageSize(0), ::aves::testing::IsOkAndHolds(50));
  EXPECT_THAT(PageSize(1000), ::aves::testing::IsOkAndHolds(1000));
  EXPECT_THAT(PageSize(1001), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("page_size")));
  EXPECT_THAT(PageSize(-1), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr("page_size")));
}

}  // namespace
}  // namespace aves::handlers
