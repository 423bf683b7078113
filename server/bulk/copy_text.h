// Values in COPY's text format, checked against the column they go into.
// Bulk loads send rows as COPY data, never as SQL text: every value is
// escaped here (backslash, tab, newline, carriage return; \N for NULL), so
// a value can never end its field or row early, and "" stays distinct from
// NULL. Type checks happen before encoding, so a wrong value is refused with
// a reason the caller can pin to its row and column.
#ifndef AVES_SERVER_BULK_COPY_TEXT_H_
#define AVES_SERVER_BULK_COPY_TEXT_H_

#include <cstdint>
#include <string>

#include <absl/status/status.h>
#include <absl/strings/string_view.h>
#include <absl/time/time.h>

namespace aves::bulk {

// The column types a bulk load can fill, from information_schema's
// data_type.
enum class ColumnKind {
  kBool,
  kInt16,
  kInt32,
  kInt64,
  kFloat32,
  kFloat64,
  kNumeric,
  kText,
  kUuid,
  kJson,  // json or jsonb
  kTimestampTz,
  kTimestamp,
  kBytea,
  kOther,  // anything else: given as text, PostgreSQL parses it
};

// "integer" -> kInt32, "timestamp with time zone" -> kTimestampTz, ...
ColumnKind ColumnKindFromDataType(absl::string_view data_type);
const char* ColumnKindName(ColumnKind kind);

// One value as a client typed it.
struct CellValue {
  enum class Type {
    kMissing,  // a cell the client sent without a value (not even NULL)
    kNull,
    kBool,
    kInt64,
    kDouble,
    kString,
    kBytes,
    kTimestamp,
    kUuid,
    kJson
  };
  Type type = Type::kNull;
  bool bool_value = false;
  int64_t int_value = 0;
  double double_value = 0;
  std::string text;  // kString, kBytes, kUuid, kJson
  absl::Time time;   // kTimestamp

  static CellValue Null() { return {}; }
  static CellValue Missing() { return Of(Type::kMissing); }
  static CellValue Bool(bool value) {
    CellValue cell = Of(Type::kBool);
    cell.bool_value = value;
    return cell;
  }
  static CellValue Int64(int64_t value) {
    CellValue cell = Of(Type::kInt64);
    cell.int_value = value;
    return cell;
  }
  static CellValue Double(double value) {
    CellValue cell = Of(Type::kDouble);
    cell.double_value = value;
    return cell;
  }
  static CellValue Timestamp(absl::Time value) {
    CellValue cell = Of(Type::kTimestamp);
    cell.time = value;
    return cell;
  }
  // kString, kBytes, kUuid or kJson.
  static CellValue Text(Type type, std::string value) {
    CellValue cell = Of(type);
    cell.text = std::move(value);
    return cell;
  }
  static CellValue String(std::string value) {
    return Text(Type::kString, std::move(value));
  }
  static CellValue Uuid(std::string value) {
    return Text(Type::kUuid, std::move(value));
  }
  static CellValue Json(std::string value) {
    return Text(Type::kJson, std::move(value));
  }

 private:
  static CellValue Of(Type type) {
    CellValue cell;
    cell.type = type;
    return cell;
  }
};

// Appends `value`'s COPY text field for a column of `kind` to `line`, or
// INVALID_ARGUMENT saying why it does not fit (the caller names the row and
// column). kNull appends \N; NOT NULL is the caller's check; kMissing is
// refused. A kString goes
// into any column as text a file would hold it (a CSV field): checked here
// for booleans, numbers, UUIDs and JSON, parsed by PostgreSQL otherwise.
absl::Status AppendCopyField(const CellValue& value, ColumnKind kind,
                             std::string* line);

// COPY text escaping of one field's text.
void AppendCopyEscaped(absl::string_view text, std::string* line);

}  // namespace aves::bulk

#endif  // AVES_SERVER_BULK_COPY_TEXT_H_
