#include "server/handlers/page_token.h"

#include <string>
#include <vector>

#include <absl/strings/escaping.h>
#include <absl/strings/str_cat.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/common/crypto.h"
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

// Found by fuzz/page_token_fuzz.cc (corpus file newline_in_list): the
// token's fields were joined with newlines unescaped, so a cursor or list
// holding one issued a token that could not be read back.
TEST(PageTokenTest, RoundTripsCursorsOfAnyText) {
  PageTokenCodec codec("secret");
  for (const store::KeysetCursor& cursor :
       std::vector<store::KeysetCursor>{{"a\nb", "1\n2"},
                                        {"back\\slash\\n", "\\"},
                                        {"", ""},
                                        {std::string("nul\0\n", 5), "\n"}}) {
    for (const char* list : {"jobs", "ti\x01p2\nannotations\n"}) {
      const std::string token = codec.Encode(list, "f\n", cursor);
      absl::StatusOr<store::KeysetCursor> back =
          codec.Decode(token, list, "f\n");
      ASSERT_OK(back);
      EXPECT_EQ(back->sort_key, cursor.sort_key);
      EXPECT_EQ(back->id, cursor.id);
      EXPECT_THAT(codec.Decode(token, "jobs\n", "f\n"),
                  StatusIs(absl::StatusCode::kInvalidArgument));
    }
  }
}

// Tokens issued before fields were escaped (none held a newline or a
// backslash: timestamps, numbers, ids) still read the same after a deploy.
TEST(PageTokenTest, ReadsTokensIssuedBeforeFieldsWereEscaped) {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  PageTokenCodec codec("secret", absl::Hours(24), [&now] { return now; });
  const std::string payload =
      absl::StrCat("p2\njob_errors\n", common::Sha256Hex("job=1").substr(0, 16),
                   "\n1800000000\n2026-11-27 00:05:00.123456+00\n42");
  std::string token;
  absl::WebSafeBase64Escape(
      payload + common::HmacSha256("secret", payload).substr(0, 16), &token);
  absl::StatusOr<store::KeysetCursor> cursor =
      codec.Decode(token, "job_errors", "job=1");
  ASSERT_OK(cursor);
  EXPECT_EQ(cursor->sort_key, "2026-11-27 00:05:00.123456+00");
  EXPECT_EQ(cursor->id, "42");
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
