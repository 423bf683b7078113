// The bulk path's COPY text encoding (server/bulk/copy_text, row_encoder):
// random columns and cells go through RowEncoder, and every line it accepts
// must be exactly one COPY text row (no raw tab inside a field, no raw
// newline, carriage return or NUL, only the escapes the encoder means) that
// decodes back to the values given. Refusals must quote valid UTF-8 when the
// cells were.
//
// Input: cells separated by 0x1E, each <kind><type><payload>. Kind is one
// of "bhilfdntujzpxo" (boolean, smallint, integer, bigint, real, double,
// numeric, text, uuid, json, timestamptz, timestamp, bytea, other),
// upper-case for NOT NULL; type one of "-0bidsxtuj" (missing, null, bool,
// int64, double, string, bytes, timestamp, uuid, json). Payloads are text:
// "1"/"0", a decimal integer, a double (or its 8 raw bytes), "SECONDS.NANOS".
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <absl/strings/ascii.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <absl/time/time.h>

#include "fuzz/fuzz_check.h"
#include "server/bulk/copy_text.h"
#include "server/bulk/row_encoder.h"
#include "server/bulk/table_catalog.h"
#include "server/store/timestamps.h"

namespace aves::fuzz {
namespace {

using bulk::CellValue;
using bulk::ColumnKind;

constexpr absl::string_view kKinds = "bhilfdntujzpxo";
constexpr absl::string_view kTypes = "-0bidsxtuj";

// One field of a COPY text line as PostgreSQL reads it; nullopt is NULL.
// Only the escapes the encoder writes are accepted: anything else (\b, \x,
// octal, a lone trailing backslash, \. which can end the data) is a bug.
std::optional<std::string> DecodeField(absl::string_view field) {
  if (field == "\\N") return std::nullopt;
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\') {
      out.push_back(field[i]);
      continue;
    }
    AVES_FUZZ_CHECK(i + 1 < field.size(),
                    absl::StrCat("a field ends in a backslash: ", Show(field)));
    switch (field[++i]) {
      case '\\':
        out.push_back('\\');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      default:
        Fail("known escape", __FILE__, __LINE__,
             absl::StrCat("unexpected escape in ", Show(field)));
    }
  }
  return out;
}

bool SameDouble(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

struct Cell {
  ColumnKind kind;
  bool nullable;
  CellValue value;
};

Cell ParseCell(absl::string_view spec) {
  Cell cell{ColumnKind::kText, true, CellValue::Null()};
  if (spec.empty()) return cell;
  const char k = spec[0];
  const size_t kind = kKinds.find(absl::ascii_tolower(k));
  cell.kind = static_cast<ColumnKind>(kind != absl::string_view::npos
                                          ? kind
                                          : static_cast<unsigned char>(k) %
                                                kKinds.size());
  cell.nullable =
      kind != absl::string_view::npos ? !absl::ascii_isupper(k) : (k & 1) != 0;
  if (spec.size() < 2) return cell;
  const size_t type_index = kTypes.find(spec[1]);
  const auto type = static_cast<CellValue::Type>(
      type_index != absl::string_view::npos
          ? type_index
          : static_cast<unsigned char>(spec[1]) % kTypes.size());
  const absl::string_view payload = spec.substr(2);
  switch (type) {
    case CellValue::Type::kMissing:
      cell.value = CellValue::Missing();
      break;
    case CellValue::Type::kNull:
      break;
    case CellValue::Type::kBool:
      cell.value = CellValue::Bool(payload == "1");
      break;
    case CellValue::Type::kInt64: {
      int64_t number = 0;
      if (!absl::SimpleAtoi(payload, &number) && payload.size() == 8) {
        std::memcpy(&number, payload.data(), 8);
      }
      cell.value = CellValue::Int64(number);
      break;
    }
    case CellValue::Type::kDouble: {
      double number = 0;
      if (payload.size() == 8) {
        std::memcpy(&number, payload.data(), 8);  // NaNs, denormals, ...
      } else {
        number = std::strtod(std::string(payload).c_str(), nullptr);
      }
      cell.value = CellValue::Double(number);
      break;
    }
    case CellValue::Type::kTimestamp: {
      std::pair<absl::string_view, absl::string_view> parts =
          absl::StrSplit(payload, absl::MaxSplits('.', 1));
      int64_t seconds = 0;
      int64_t nanos = 0;
      (void)absl::SimpleAtoi(parts.first, &seconds);
      (void)absl::SimpleAtoi(parts.second, &nanos);
      cell.value = CellValue::Timestamp(absl::FromUnixSeconds(seconds) +
                                        absl::Nanoseconds(nanos));
      break;
    }
    default:
      cell.value = CellValue::Text(type, std::string(payload));
  }
  return cell;
}

// What `cell` must have become, given that the encoder accepted it.
void CheckField(const Cell& cell, const std::optional<std::string>& field) {
  const CellValue& value = cell.value;
  const std::string what =
      absl::StrCat("cell type ", static_cast<int>(value.type), " into ",
                   bulk::ColumnKindName(cell.kind), ", text ", Show(value.text),
                   ", field ", field ? Show(*field) : "NULL");
  if (value.type == CellValue::Type::kNull) {
    AVES_FUZZ_CHECK(!field.has_value() && cell.nullable, what);
    return;
  }
  AVES_FUZZ_CHECK(field.has_value(), what);
  const std::string& got = *field;
  switch (value.type) {
    case CellValue::Type::kBool:
      AVES_FUZZ_CHECK(got == (value.bool_value ? "t" : "f"), what);
      return;
    case CellValue::Type::kInt64: {
      int64_t back = 0;
      AVES_FUZZ_CHECK(absl::SimpleAtoi(got, &back) && back == value.int_value,
                      what);
      const int64_t limit = cell.kind == ColumnKind::kInt16   ? 32767
                            : cell.kind == ColumnKind::kInt32 ? 2147483647
                                                              : INT64_MAX;
      AVES_FUZZ_CHECK(back <= limit && back >= -limit - 1, what);
      return;
    }
    case CellValue::Type::kDouble: {
      const double d = value.double_value;
      if (std::isnan(d)) {
        AVES_FUZZ_CHECK(got == "NaN", what);
      } else if (std::isinf(d)) {
        AVES_FUZZ_CHECK(got == (d > 0 ? "Infinity" : "-Infinity"), what);
      } else {
        AVES_FUZZ_CHECK(std::strtod(got.c_str(), nullptr) == d, what);
      }
      return;
    }
    case CellValue::Type::kBytes: {
      std::string hex;
      for (unsigned char c : value.text) {
        absl::StrAppend(&hex, absl::Hex(c, absl::kZeroPad2));
      }
      AVES_FUZZ_CHECK(got == "\\x" + hex, what);
      return;
    }
    case CellValue::Type::kTimestamp: {
      const bool zoned = cell.kind == ColumnKind::kTimestampTz;
      absl::Time back;
      std::string error;
      AVES_FUZZ_CHECK(absl::ParseTime(zoned ? "%Y-%m-%d %H:%M:%E*S+00"
                                            : "%Y-%m-%d %H:%M:%E*S",
                                      got, absl::UTCTimeZone(), &back, &error),
                      what);
      // Microseconds are what PostgreSQL keeps; the rest is cut, downward.
      AVES_FUZZ_CHECK(
          back == absl::FromUnixMicros(absl::ToUnixMicros(value.time)), what);
      AVES_FUZZ_CHECK(store::InApiRange(value.time), what);
      return;
    }
    case CellValue::Type::kString:
      switch (cell.kind) {
        case ColumnKind::kBool: {
          const std::string lower = absl::AsciiStrToLower(value.text);
          const bool yes =
              lower == "t" || lower == "true" || lower == "1" || lower == "yes";
          AVES_FUZZ_CHECK(got == (yes ? "t" : "f"), what);
          return;
        }
        case ColumnKind::kInt16:
        case ColumnKind::kInt32:
        case ColumnKind::kInt64: {
          int64_t given = 0;
          AVES_FUZZ_CHECK(absl::SimpleAtoi(value.text, &given) &&
                              got == absl::StrCat(given),
                          what);
          return;
        }
        case ColumnKind::kFloat32:
        case ColumnKind::kFloat64:
        case ColumnKind::kNumeric: {
          double given = 0;
          double back = 0;
          AVES_FUZZ_CHECK(absl::SimpleAtod(value.text, &given) &&
                              absl::SimpleAtod(got, &back) &&
                              SameDouble(given, back),
                          what);
          return;
        }
        default:
          AVES_FUZZ_CHECK(got == value.text, what);
          return;
      }
    default:  // kUuid, kJson: the text itself
      AVES_FUZZ_CHECK(got == value.text, what);
  }
}

}  // namespace
}  // namespace aves::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aves;
  using namespace aves::fuzz;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<Cell> cells;
  for (absl::string_view spec : absl::StrSplit(input, '\x1e')) {
    cells.push_back(ParseCell(spec));
    if (cells.size() == 16) break;
  }
  std::vector<bulk::ColumnInfo> infos(cells.size());
  std::vector<const bulk::ColumnInfo*> columns;
  bool utf8 = true;
  for (size_t c = 0; c < cells.size(); ++c) {
    infos[c].name = absl::StrCat("c", c);
    infos[c].kind = cells[c].kind;
    infos[c].nullable = cells[c].nullable;
    columns.push_back(&infos[c]);
    utf8 = utf8 && IsValidUtf8(cells[c].value.text);
  }
  const bulk::RowEncoder encoder(columns);
  std::string line = "left over";
  const absl::Status status = encoder.Encode(
      7, static_cast<int>(cells.size()),
      [&](int c) { return cells[static_cast<size_t>(c)].value; }, &line);
  if (!status.ok()) {
    AVES_FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument,
                    status.ToString());
    AVES_FUZZ_CHECK(
        !utf8 || IsValidUtf8(status.message()),
        absl::StrCat("a refusal that is not UTF-8: ", Show(status.message())));
    return 0;
  }
  for (char c : {'\n', '\r', '\0'}) {
    AVES_FUZZ_CHECK(line.find(c) == std::string::npos,
                    absl::StrCat("a raw ", static_cast<int>(c), " in the line ",
                                 Show(line)));
  }
  AVES_FUZZ_CHECK(!utf8 || IsValidUtf8(line), Show(line));
  const std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
  AVES_FUZZ_CHECK(fields.size() == cells.size(),
                  absl::StrCat(fields.size(), " fields for ", cells.size(),
                               " cells: ", Show(line)));
  for (size_t c = 0; c < cells.size(); ++c) {
    CheckField(cells[c], DecodeField(fields[c]));
  }
  return 0;
}
