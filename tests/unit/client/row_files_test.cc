// avesctl's row files: CSV (NULL apart from "") and JSON lines (typed cells).
#include "client/lib/row_files.h"

#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace aves::client {
namespace {

namespace v1 = data::v1;

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

// Every row of the file, read with all its columns.
std::vector<v1::Row> ReadRows(const std::string& path,
                              const std::string& format) {
  absl::StatusOr<std::unique_ptr<RowFile>> file = RowFile::Open(path, format);
  EXPECT_OK(file);
  std::vector<v1::Row> rows;
  if (!file.ok()) return rows;
  while (true) {
    v1::Row row;
    absl::StatusOr<bool> got = (*file)->Next((*file)->columns(), &row);
    EXPECT_OK(got);
    if (!got.ok() || !*got) break;
    rows.push_back(row);
  }
  EXPECT_EQ((*file)->CountRows(), static_cast<int64_t>(rows.size()));
  return rows;
}

TEST(RowFilesTest, CsvKeepsNullApartFromTheEmptyString) {
  const std::vector<v1::Row> rows =
      ReadRows(WriteFile("quotes.csv",
                         "a,b\r\n\"x, \"\"y\"\"\",\r\n\"\",\"two\nlines\"\n"),
               "csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].cells(0).string_value(), "x, \"y\"");
  EXPECT_EQ(rows[0].cells(1).value_case(), v1::Cell::kNullValue);
  EXPECT_EQ(rows[1].cells(0).value_case(), v1::Cell::kStringValue);
  EXPECT_EQ(rows[1].cells(0).string_value(), "");
  EXPECT_EQ(rows[1].cells(1).string_value(), "two\nlines");
}

// Found by fuzz/row_files_fuzz.cc (corpus file jsonl_huge_number): a number
// was cast to int64 before its range was checked, undefined behaviour
// (UBSan's float-cast-overflow) for any number past int64's range.
TEST(RowFilesTest, JsonNumbersBeyondInt64StayDoubles) {
  const std::vector<v1::Row> rows = ReadRows(
      WriteFile("numbers.jsonl",
                "{\"n\": 7777777777777777777777777770.5}\n{\"n\": 1e300}\n"
                "{\"n\": -1e19}\n{\"n\": 9223372036854775807}\n"
                "{\"n\": 42}\n{\"n\": -2.5}\n"),
      "jsonl");
  ASSERT_EQ(rows.size(), 6u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(rows[i].cells(0).value_case(), v1::Cell::kDoubleValue) << i;
  }
  EXPECT_EQ(rows[1].cells(0).double_value(), 1e300);
  EXPECT_EQ(rows[4].cells(0).int64_value(), 42);
  EXPECT_EQ(rows[5].cells(0).double_value(), -2.5);
}

}  // namespace
}  // namespace aves::client
