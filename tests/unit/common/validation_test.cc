#include "server/common/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/common/json_syntax.h"
#include "server/common/utf8.h"
#include "server/common/uuid.h"
#include "tests/support/status_matchers.h"

namespace aves::common {
namespace {

using ::aves::testing::StatusIs;
using ::testing::AllOf;
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

TEST(ValidationTest, JsonFieldsAreCheckedForSyntaxShapeDepthAndStoredSize) {
  EXPECT_OK(ValidateJson("exercise_data", R"({"a": [1]})", 100,
                         JsonShape::kObjectOrArray, true));
  EXPECT_OK(ValidateJson("exercise_data", " [1] ", 100,
                         JsonShape::kObjectOrArray, true));
  EXPECT_OK(ValidateJson("metadata", "", 100, JsonShape::kObject, false));
  EXPECT_OK(ValidateJson("value", "42", 100, JsonShape::kAny, true));
  struct Case {
    std::string json;
    JsonShape shape;
    const char* says;
  };
  const Case cases[] = {
      {"", JsonShape::kAny, "required"},
      {"{oops", JsonShape::kAny, "not valid JSON"},
      {"42", JsonShape::kObjectOrArray, "must be a JSON object or array"},
      {"\"text\"", JsonShape::kObjectOrArray, "object or array"},
      {"[1]", JsonShape::kObject, "must be a JSON object"},
      {std::string(kMaxJsonDepth + 1, '[') +
           std::string(kMaxJsonDepth + 1, ']'),
       JsonShape::kAny, "nested too deeply"},
      {std::string(101, ' ') + "1", JsonShape::kAny, "longer than 100 bytes"},
      // 7 bytes that jsonb prints as 1 followed by 250 zeros.
      {"[1e250]", JsonShape::kAny, "would store it as up to"},
  };
  for (const Case& c : cases) {
    const size_t max_bytes = c.json.size() > 1000 ? c.json.size() : 100;
    EXPECT_THAT(ValidateJson("field", c.json, max_bytes, c.shape, true),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("field: "), HasSubstr(c.says))))
        << c.json;
  }
  const std::string deepest =
      std::string(kMaxJsonDepth, '[') + "1" + std::string(kMaxJsonDepth, ']');
  EXPECT_OK(ValidateJson("field", deepest, 2000, JsonShape::kAny, true));
  // Just inside the bound of 2 * max_bytes stored.
  EXPECT_OK(ValidateJson("field", "[1e190]", 100, JsonShape::kAny, true));
}

TEST(ValidationTest, Utf8PrefixNeverSplitsACharacter) {
  EXPECT_EQ(Utf8Prefix("abc", 5), "abc");
  EXPECT_EQ(Utf8Prefix("abcdef", 3), "abc");
  // é is two bytes, 🐦 four: a cut inside either drops it whole.
  EXPECT_EQ(Utf8Prefix("ab\xC3\xA9z", 3), "ab");
  EXPECT_EQ(Utf8Prefix("ab\xC3\xA9z", 4), "ab\xC3\xA9");
  for (size_t cut = 1; cut <= 4; ++cut) {
    EXPECT_EQ(Utf8Prefix("a\xF0\x9F\x90\xA6", cut), "a") << cut;
  }
  EXPECT_EQ(Utf8Prefix("a\xF0\x9F\x90\xA6", 5), "a\xF0\x9F\x90\xA6");
  EXPECT_EQ(Utf8Prefix("\xC3\xA9", 1), "");
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
