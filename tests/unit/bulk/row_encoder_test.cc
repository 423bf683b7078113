// One row of typed cells against a load's columns: its COPY line, or a
// refusal naming the row and the column.
#include "server/bulk/row_encoder.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace aves::bulk {
namespace {

using ::aves::testing::StatusIs;
using ::testing::HasSubstr;

class RowEncoderTest : public ::testing::Test {
 protected:
  RowEncoderTest() {
    id_.name = "id";
    id_.kind = ColumnKind::kInt32;
    id_.nullable = false;
    note_.name = "note";
    note_.kind = ColumnKind::kText;
    encoder_ = RowEncoder({&id_, &note_});
  }

  absl::Status Encode(int64_t index, const std::vector<CellValue>& cells,
                      std::string* line) {
    return encoder_.Encode(
        index, static_cast<int>(cells.size()), [&](int c) { return cells[c]; },
        line);
  }

  ColumnInfo id_, note_;
  RowEncoder encoder_;
};

TEST_F(RowEncoderTest, AGoodRowIsOneEscapedLine) {
  std::string line = "left over";
  ASSERT_OK(
      Encode(0, {CellValue::Int64(7), CellValue::String("a\tb\nc")}, &line));
  EXPECT_EQ(line, "7\ta\\tb\\nc");
  ASSERT_OK(Encode(1, {CellValue::Int64(8), CellValue::Null()}, &line));
  EXPECT_EQ(line, "8\t\\N") << "NULL where the column allows it";
}

TEST_F(RowEncoderTest, RefusalsNameTheRowAndTheColumn) {
  std::string line;
  EXPECT_THAT(Encode(3, {CellValue::Int64(1)}, &line),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("row 3: 1 cells for 2 columns")));
  EXPECT_THAT(
      Encode(4, {CellValue::Null(), CellValue::String("x")}, &line),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("row 4, column id: NULL in a NOT NULL column")));
  EXPECT_THAT(
      Encode(5, {CellValue::Int64(int64_t{1} << 40), CellValue::Null()}, &line),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("row 5, column id: 1099511627776 is outside")));
  EXPECT_THAT(Encode(6, {CellValue::Int64(1), CellValue::Missing()}, &line),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("row 6, column note: the cell has no value")));
  EXPECT_THAT(Encode(7, {CellValue::Bool(true), CellValue::Null()}, &line),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("row 7, column id: a bool value cannot go "
                                 "into a integer column")));
}

}  // namespace
}  // namespace aves::bulk
