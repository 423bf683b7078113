// avesctl's row files (client/lib/row_files): any file, never a crash; every
// row it reads has one cell per column asked for; a file it reads to the end
// holds as many rows as CountRows says; and CSV round-trips: records written
// by RFC 4180's rules read back as the same fields, NULL (empty, unquoted)
// apart from "" (quoted).
//
// Input: a mode byte, then
//   'c' or 'j': the rest is a CSV or JSON-lines file;
//   'r': the rest chooses a CSV file's records (column count, then fields,
//        each a length byte and bytes, 0xFF meaning NULL), written out and
//        read back.
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>

#include "client/lib/row_files.h"
#include "fuzz/fuzz_check.h"

namespace aves::fuzz {
namespace {

const std::string& ScratchPath() {
  static const std::string* path = new std::string(
      absl::StrCat(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
                   "/aves-row-files-fuzz-", getpid()));
  return *path;
}

void Write(absl::string_view contents) {
  std::ofstream out(ScratchPath(), std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
}

std::string Cell(const data::v1::Cell& cell) {
  return cell.value_case() == data::v1::Cell::kNullValue
             ? "NULL"
             : Show(cell.string_value());
}

// Reads the scratch file to its end or first refusal; the rows read, or
// nullopt when it was refused.
std::optional<std::vector<data::v1::Row>> ReadAll(const std::string& format,
                                                  absl::string_view contents) {
  absl::StatusOr<std::unique_ptr<client::RowFile>> file =
      client::RowFile::Open(ScratchPath(), format);
  if (!file.ok()) return std::nullopt;
  const std::vector<std::string> columns = (*file)->columns();
  std::vector<data::v1::Row> rows;
  while (rows.size() < 10000) {
    data::v1::Row row;
    absl::StatusOr<bool> got = (*file)->Next(columns, &row);
    if (!got.ok()) {
      AVES_FUZZ_CHECK(got.status().code() == absl::StatusCode::kInvalidArgument,
                      got.status().ToString());
      return std::nullopt;
    }
    if (!*got) break;
    AVES_FUZZ_CHECK(row.cells_size() == static_cast<int>(columns.size()),
                    absl::StrCat(row.cells_size(), " cells for ",
                                 columns.size(), " columns: ", Show(contents)));
    rows.push_back(std::move(row));
  }
  const std::optional<int64_t> counted = (*file)->CountRows();
  AVES_FUZZ_CHECK(
      !counted.has_value() || *counted == static_cast<int64_t>(rows.size()),
      absl::StrCat("read ", rows.size(), " rows, counted ", *counted, ": ",
                   Show(contents)));
  return rows;
}

// RFC 4180 as PostgreSQL's CSV COPY writes it: quoted when it must be, and
// "" for the empty string so it stays apart from NULL.
std::string CsvField(const std::optional<std::string>& field) {
  if (!field.has_value()) return "";
  if (!field->empty() && field->find_first_of(",\"\r\n") == std::string::npos) {
    return *field;
  }
  std::string quoted = "\"";
  for (char c : *field) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  return quoted + "\"";
}

void RoundTrip(absl::string_view input) {
  if (input.empty()) return;
  const size_t width = 1 + static_cast<unsigned char>(input[0]) % 4;
  input.remove_prefix(1);
  std::vector<std::vector<std::optional<std::string>>> records;
  std::vector<std::optional<std::string>> record;
  while (!input.empty() && records.size() < 50) {
    const unsigned char length = static_cast<unsigned char>(input[0]);
    input.remove_prefix(1);
    if (length == 0xFF) {
      record.push_back(std::nullopt);
    } else {
      const size_t take = std::min<size_t>(length, input.size());
      record.push_back(std::string(input.substr(0, take)));
      input.remove_prefix(take);
    }
    if (record.size() == width)
      records.push_back(std::move(record)), record = {};
  }
  std::string csv;
  for (size_t c = 0; c < width; ++c) {
    absl::StrAppend(&csv, c > 0 ? "," : "", "column", c);
  }
  for (const auto& fields : records) {
    csv.push_back('\n');
    for (size_t c = 0; c < width; ++c) {
      absl::StrAppend(&csv, c > 0 ? "," : "", CsvField(fields[c]));
    }
  }
  csv.push_back('\n');
  Write(csv);
  const std::optional<std::vector<data::v1::Row>> rows = ReadAll("csv", csv);
  AVES_FUZZ_CHECK(rows.has_value() && rows->size() == records.size(),
                  absl::StrCat(rows ? rows->size() : -1, " rows for ",
                               records.size(), " records: ", Show(csv)));
  for (size_t r = 0; r < records.size(); ++r) {
    for (size_t c = 0; c < width; ++c) {
      const data::v1::Cell& cell = (*rows)[r].cells(static_cast<int>(c));
      const std::optional<std::string>& want = records[r][c];
      AVES_FUZZ_CHECK(want.has_value()
                          ? cell.value_case() == data::v1::Cell::kStringValue &&
                                cell.string_value() == *want
                          : cell.value_case() == data::v1::Cell::kNullValue,
                      absl::StrCat("row ", r, " column ", c, ": wrote ",
                                   want ? Show(*want) : "NULL", ", read ",
                                   Cell(cell), " from ", Show(csv)));
    }
  }
}

}  // namespace
}  // namespace aves::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aves::fuzz;
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  if (data[0] == 'r') {
    RoundTrip(rest);
    return 0;
  }
  Write(rest);
  (void)ReadAll(data[0] & 1 ? "csv" : "jsonl", rest);  // 'c' is odd, 'j' even
  return 0;
}
