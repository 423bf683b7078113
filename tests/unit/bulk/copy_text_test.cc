// COPY text encoding and the JSON syntax check behind bulk loads: every
// value is escaped so it cannot end its field or row, "" differs from NULL,
// and a value of the wrong type is refused with the reason.
#include "server/bulk/copy_text.h"

#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/common/json_syntax.h"
#include "server/db/sql_identifier.h"
#include "tests/support/status_matchers.h"

namespace aves {
namespace {

using ::aves::testing::StatusIs;
using bulk::CellValue;
using bulk::ColumnKind;
using ::testing::HasSubstr;

absl::StatusOr<std::string> Field(const CellValue& value, ColumnKind kind) {
  std::string line;
  absl::Status status = bulk::AppendCopyField(value, kind, &line);
  if (!status.ok()) return status;
  return line;
}

TEST(CopyTextTest, EscapesEverythingThatCouldEndAFieldOrRow) {
  EXPECT_THAT(Field(CellValue::String("a\tb\nc\rd\\e"), ColumnKind::kText),
              testing::IsOkAndHolds(R"(a\tb\nc\rd\\e)"));
  EXPECT_THAT(
      Field(CellValue::String("quotes \" ' and ñandú 🐦"), ColumnKind::kText),
      testing::IsOkAndHolds("quotes \" ' and ñandú 🐦"));
  EXPECT_THAT(Field(CellValue::String(R"(\N)"), ColumnKind::kText),
              testing::IsOkAndHolds(R"(\\N)"))
      << "the text \\N is not NULL";
}

TEST(CopyTextTest, EmptyStringAndNullDiffer) {
  EXPECT_THAT(Field(CellValue::String(""), ColumnKind::kText),
              testing::IsOkAndHolds(""));
  EXPECT_THAT(Field(CellValue(), ColumnKind::kText),
              testing::IsOkAndHolds(R"(\N)"));
}

TEST(CopyTextTest, TypedValues) {
  EXPECT_THAT(Field(CellValue::Bool(true), ColumnKind::kBool),
              testing::IsOkAndHolds("t"));
  EXPECT_THAT(Field(CellValue::Int64(-32768), ColumnKind::kInt16),
              testing::IsOkAndHolds("-32768"));
  EXPECT_THAT(Field(CellValue::Double(0.1), ColumnKind::kFloat64),
              testing::IsOkAndHolds("0.10000000000000001"));
  EXPECT_THAT(Field(CellValue::Double(std::nan("")), ColumnKind::kFloat32),
              testing::IsOkAndHolds("NaN"));
  EXPECT_THAT(Field(CellValue::Double(-INFINITY), ColumnKind::kFloat64),
              testing::IsOkAndHolds("-Infinity"));
  EXPECT_THAT(Field(CellValue::Text(CellValue::Type::kBytes,
                                    std::string("\x00\xff\x10", 3)),
                    ColumnKind::kBytea),
              testing::IsOkAndHolds(R"(\\x00ff10)"));
  EXPECT_THAT(
      Field(CellValue::Timestamp(absl::FromUnixMicros(1'700'000'000'123'456)),
            ColumnKind::kTimestampTz),
      testing::IsOkAndHolds("2023-11-14 22:13:20.123456+00"));
  EXPECT_THAT(Field(CellValue::Uuid("6F1D0A3E-2B4C-4D5E-8F70-112233445566"),
                    ColumnKind::kUuid),
              testing::IsOkAndHolds("6F1D0A3E-2B4C-4D5E-8F70-112233445566"));
  EXPECT_THAT(Field(CellValue::Json("{\"a\":\"x\\ty\"}"), ColumnKind::kJson),
              testing::IsOkAndHolds(R"({"a":"x\\ty"})"));
}

TEST(CopyTextTest, TextAsAFileHoldsItFitsTypedColumns) {
  EXPECT_THAT(Field(CellValue::String("42"), ColumnKind::kInt32),
              testing::IsOkAndHolds("42"));
  EXPECT_THAT(Field(CellValue::String("TRUE"), ColumnKind::kBool),
              testing::IsOkAndHolds("t"));
  EXPECT_THAT(Field(CellValue::String("0.1000000000000000000001"),
                    ColumnKind::kNumeric),
              testing::IsOkAndHolds("0.1000000000000000000001"))
      << "numeric keeps every digit";
  EXPECT_THAT(Field(CellValue::String("6f1d0a3e-2b4c-4d5e-8f70-112233445566"),
                    ColumnKind::kUuid),
              testing::IsOkAndHolds("6f1d0a3e-2b4c-4d5e-8f70-112233445566"));
  EXPECT_THAT(Field(CellValue::String("2026-11-27 10:00:00+01"),
                    ColumnKind::kTimestampTz),
              testing::IsOkAndHolds("2026-11-27 10:00:00+01"));
  EXPECT_THAT(Field(CellValue::String(R"({"a":"t\tb"})"), ColumnKind::kJson),
              testing::IsOkAndHolds(R"({"a":"t\\tb"})"));
}

// Found by fuzz/copy_text_fuzz.cc (corpus file number_with_cr): a number's
// text went into the line as written, and the whitespace absl::SimpleAtod
// allows around it included tabs and line breaks, which end a COPY field or
// row.
TEST(CopyTextTest, ANumberGivenAsTextNeverEndsItsFieldOrRow) {
  EXPECT_THAT(Field(CellValue::String("\r025e3"), ColumnKind::kFloat64),
              testing::IsOkAndHolds("025e3"));
  EXPECT_THAT(Field(CellValue::String(" 2.5\t"), ColumnKind::kNumeric),
              testing::IsOkAndHolds("2.5"));
  EXPECT_THAT(Field(CellValue::String("\v-1e3\n"), ColumnKind::kFloat32),
              testing::IsOkAndHolds("-1e3"));
}

TEST(CopyTextTest, TimestampsTheApiCannotRepresentAreRefused) {
  for (absl::Time time :
       {absl::InfiniteFuture(), absl::InfinitePast(),
        absl::FromCivil(absl::CivilSecond(10000, 1, 1, 0, 0, 0),
                        absl::UTCTimeZone()),
        absl::FromCivil(absl::CivilSecond(0, 12, 31, 23, 59, 59),
                        absl::UTCTimeZone())}) {
    EXPECT_THAT(Field(CellValue::Timestamp(time), ColumnKind::kTimestampTz),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("outside the range the API can represent")))
        << time;
  }
  EXPECT_THAT(Field(CellValue::Timestamp(absl::FromCivil(
                        absl::CivilSecond(9999, 12, 31, 23, 59, 59),
                        absl::UTCTimeZone())),
                    ColumnKind::kTimestampTz),
              testing::IsOkAndHolds("9999-12-31 23:59:59.000000+00"));
}

TEST(CopyTextTest, WrongValuesAreRefusedWithTheReason) {
  EXPECT_THAT(Field(CellValue::Int64(40000), ColumnKind::kInt16),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("outside the range of smallint")));
  EXPECT_THAT(Field(CellValue::Int64(int64_t{1} << 31), ColumnKind::kInt32),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Field(CellValue::String("12x"), ColumnKind::kInt32),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'12x' is not a whole number")));
  EXPECT_THAT(Field(CellValue::String("40000"), ColumnKind::kInt16),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("outside the range of smallint")));
  EXPECT_THAT(Field(CellValue::String("maybe"), ColumnKind::kBool),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Field(CellValue::String("{"), ColumnKind::kJson),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not valid JSON")));
  EXPECT_THAT(Field(CellValue::Int64(3), ColumnKind::kText),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("a int64 value cannot go into a text")));
  EXPECT_THAT(Field(CellValue::Double(1.5), ColumnKind::kInt64),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Field(CellValue::Uuid("not-a-uuid"), ColumnKind::kUuid),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("canonical UUID")));
  EXPECT_THAT(Field(CellValue::Json("{\"a\": }"), ColumnKind::kJson),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not valid JSON (byte 6")));
  EXPECT_THAT(
      Field(CellValue::String(std::string("a\0b", 3)), ColumnKind::kText),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("NUL")));
}

TEST(CopyTextTest, ARefusedCellIsQuotedCutOnACharacterBoundary) {
  // Byte 40 falls inside the é: quoting 40 bytes would end the message with
  // half a character, which PostgreSQL refuses (22021) when it stores the
  // row's error.
  const std::string cell = std::string(39, 'x') + "\xC3\xA9" + "tail";
  EXPECT_THAT(Field(CellValue::String(cell), ColumnKind::kInt32),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'" + std::string(39, 'x') + "' is not")));
}

TEST(CopyTextTest, QuotesIdentifiers) {
  EXPECT_EQ(db::QuoteIdentifier("users"), "\"users\"");
  EXPECT_EQ(db::QuoteIdentifier("a\"; DROP TABLE x; --"),
            "\"a\"\"; DROP TABLE x; --\"");
}

TEST(JsonSyntaxTest, AcceptsJson) {
  for (const char* json :
       {"{}", "[]", "0", "-0.5e+10", "\"\"", "true", "null",
        " {\"a\": [1, 2.5, {\"b\": null}], \"c\": \"\\u00e9\\n\"} ",
        "\"ñandú 🐦\"", "[[[[[]]]]]"}) {
    std::string error;
    EXPECT_TRUE(common::IsValidJson(json, &error)) << json << ": " << error;
  }
}

TEST(JsonSyntaxTest, BoundsTheTextPostgresqlStores) {
  int64_t bound = 0;
  std::string error;
  ASSERT_TRUE(common::IsValidJson(R"({"a":1,"b":2})", &error, &bound));
  EXPECT_EQ(bound, 13 + 3) << "a space after each ':' and ','";
  ASSERT_TRUE(common::IsValidJson("[1e130000]", &error, &bound));
  EXPECT_GE(bound, 130001 + 2);
  ASSERT_TRUE(common::IsValidJson("[1e-7]", &error, &bound));
  EXPECT_GE(bound, int64_t{11}) << "0.0000001 and its brackets";
  // An exponent too long to add up saturates instead of wrapping.
  ASSERT_TRUE(common::IsValidJson("[1e99999999999999999999999,1e9999999999]",
                                  &error, &bound));
  EXPECT_GE(bound, int64_t{1} << 40);
}

TEST(JsonSyntaxTest, RefusesWhatPostgresqlWouldRefuse) {
  for (const char* json : {"", "{", "{\"a\" 1}", "{a: 1}", "[1,]", "01", "1.",
                           ".5", "+1", "\"unterminated", "\"bad \\x escape\"",
                           "\"\\u12\"", "tru", "{} {}", "\"\\u0000\"", "NaN"}) {
    std::string error;
    EXPECT_FALSE(common::IsValidJson(json, &error)) << json;
    EXPECT_THAT(error, HasSubstr("byte ")) << json;
  }
  std::string deep(600, '[');
  EXPECT_FALSE(common::IsValidJson(deep + std::string(600, ']'), nullptr));
  EXPECT_FALSE(common::IsValidJson(std::string("\"a\nb\""), nullptr))
      << "raw control characters in strings";
}

// jsonb refuses a lone UTF-16 surrogate escape (22P02) as it refuses
// \u0000, so the check does too; a pair is one character. Found by
// fuzz/json_syntax_fuzz.cc against nlohmann::json (corpus file
// lone_surrogate).
TEST(JsonSyntaxTest, RefusesLoneSurrogatesAsJsonbDoes) {
  for (const char* json : {"\"\\ud800\"", "\"\\udc00\"", "[\"\\ud800\\u0041\"]",
                           "\"\\uDBFF\\uD800\"", "\"\\ud800", "\"\\ud800\\\"",
                           "[\"an \\ud82dZZ\\ude00\"]"}) {
    std::string error;
    EXPECT_FALSE(common::IsValidJson(json, &error)) << json;
    EXPECT_THAT(error, HasSubstr("surrogate")) << json;
  }
  for (const char* json : {"\"\\ud83d\\ude00\"", "[\"\\uD83D\\uDE00x\"]"}) {
    std::string error;
    EXPECT_TRUE(common::IsValidJson(json, &error)) << json << ": " << error;
  }
}

}  // namespace
}  // namespace aves
