#include "server/common/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/common/uuid.h"
#include "tests/support/status_matchers.h"

namespace aves::common {
namespace {

using ::aves::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ValidationTest, CanonicalUuids) {
  EXPECT_TRUE(IsCanonicalUuid("24c9e15e-52af-c47c-225b-757e7bee1f9d"));
  EXPECT_TRUE(IsCanonicalUuid("24C9E15E-52AF-C47C-225B-757E7BEE1F9D"));
  for (const char* bad : {"", "24c9e15e52afc47c225b757e7bee1f9d",
                          "24c9e15e-52af-c47c-225b-757e7bee1f9",
                          "24c9e15e-52af-c47c-225b-757e7bee1f9dd",
                          "g4c9e15e-52af-c47c-225b-757e7bee1f9d",
                          "{24c9e15e-52af-c47c-225b-757e7bee1f9}",
                          "24c9e15e_52af-c47c-225b-757e7bee1f9d"}) {
    EXPECT_FALSE(IsCanonicalUuid(bad)) << bad;
  }
}

TEST(ValidationTest, UuidFieldsAreNamedAndLowerCased) {
  std::string out;
  EXPECT_OK(
      ValidateUuid("user_id", "24C9E15E-52AF-C47C-225B-757E7BEE1F9D", &out));
  EXPECT_EQ(out, "24c9e15e-52af-c47c-225b-757e7bee1f9d");
  EXPECT_THAT(ValidateUuid("user_id", "42", &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("user_id: not a canonical UUID")));
  EXPECT_THAT(ValidateUuid("image_id", "", &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("image_id: required")));
}

TEST(ValidationTest, TextFields) {
  EXPECT_OK(ValidateText("topic", "aves", 10, true));
  EXPECT_OK(ValidateText("topic", "", 10, false));
  EXPECT_THAT(ValidateText("exercise_type", "", 10, true),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exercise_type: required")));
  EXPECT_THAT(ValidateText("topic", std::string(11, 'x'), 10, true),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("topic: longer than 10")));
  EXPECT_THAT(ValidateText("topic", std::string("a\0b", 3), 10, true),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("topic: contains a NUL")));
}

TEST(ValidationTest, Ranges) {
  EXPECT_OK(ValidateRange("difficulty_level", 1, 1, 5));
  EXPECT_OK(ValidateRange("difficulty_level", 5, 1, 5));
  EXPECT_THAT(ValidateRange("difficulty_level", 6, 1, 5),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("difficulty_level: 6 is outside [1, 5]")));
  EXPECT_THAT(ValidateRange("difficulty_level", 0, 1, 5),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("difficulty_level")));
}

}  // namespace
}  // namespace aves::common
