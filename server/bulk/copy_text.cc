#include "server/bulk/copy_text.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include <absl/strings/ascii.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>

#include "server/common/json_syntax.h"
#include "server/common/utf8.h"
#include "server/common/uuid.h"
#include "server/store/timestamps.h"

namespace aves::bulk {
namespace {

const char* CellTypeName(CellValue::Type type) {
  switch (type) {
    case CellValue::Type::kMissing:
      return "missing";
    case CellValue::Type::kNull:
      return "null";
    case CellValue::Type::kBool:
      return "bool";
    case CellValue::Type::kInt64:
      return "int64";
    case CellValue::Type::kDouble:
      return "double";
    case CellValue::Type::kString:
      return "string";
    case CellValue::Type::kBytes:
      return "bytes";
    case CellValue::Type::kTimestamp:
      return "timestamp";
    case CellValue::Type::kUuid:
      return "uuid";
    case CellValue::Type::kJson:
      return "json";
  }
  return "?";
}

absl::Status Mismatch(const CellValue& value, ColumnKind kind) {
  return absl::InvalidArgumentError(
      absl::StrCat("a ", CellTypeName(value.type), " value cannot go into a ",
                   ColumnKindName(kind), " column"));
}

absl::Status NoNul(absl::string_view text) {
  if (text.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "contains a NUL character (PostgreSQL text cannot hold one)");
  }
  return absl::OkStatus();
}

// Text as a file holds it (CSV), checked against the column's type where
// that can be done here; the rest PostgreSQL parses (a refusal then costs
// only the row).
absl::Status AppendTextAs(absl::string_view text, ColumnKind kind,
                          std::string* line) {
  auto refuse = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", common::Utf8Prefix(text, 40), "' is not ", what));
  };
  switch (kind) {
    case ColumnKind::kBool: {
      const std::string lower = absl::AsciiStrToLower(text);
      if (lower == "t" || lower == "true" || lower == "1" || lower == "yes") {
        line->push_back('t');
      } else if (lower == "f" || lower == "false" || lower == "0" ||
                 lower == "no") {
        line->push_back('f');
      } else {
        return refuse("a boolean");
      }
      return absl::OkStatus();
    }
    case ColumnKind::kInt16:
    case ColumnKind::kInt32:
    case ColumnKind::kInt64: {
      CellValue number;
      number.type = CellValue::Type::kInt64;
      if (!absl::SimpleAtoi(text, &number.int_value))
        return refuse("a whole number");
      return AppendCopyField(number, kind, line);
    }
    case ColumnKind::kFloat32:
    case ColumnKind::kFloat64:
    case ColumnKind::kNumeric: {
      double ignored = 0;
      if (!absl::SimpleAtod(text, &ignored)) return refuse("a number");
      // Exact, as written, but without the whitespace SimpleAtod allows
      // around it: a tab or line break there would end the field or row.
      const absl::string_view number = absl::StripAsciiWhitespace(text);
      line->append(number.data(), number.size());
      return absl::OkStatus();
    }
    case ColumnKind::kUuid:
      if (!common::IsCanonicalUuid(text)) {
        return absl::InvalidArgumentError(
            "not a canonical UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
      }
      line->append(text.data(), text.size());
      return absl::OkStatus();
    case ColumnKind::kJson: {
      std::string error;
      if (!common::IsValidJson(text, &error)) {
        return absl::InvalidArgumentError(
            absl::StrCat("not valid JSON (", error, ")"));
      }
      AppendCopyEscaped(text, line);
      return absl::OkStatus();
    }
    case ColumnKind::kText:
    case ColumnKind::kTimestampTz:
    case ColumnKind::kTimestamp:
    case ColumnKind::kBytea:
    case ColumnKind::kOther:
      AppendCopyEscaped(text, line);
      return absl::OkStatus();
  }
  return absl::InternalError("unknown column kind");
}

}  // namespace

ColumnKind ColumnKindFromDataType(absl::string_view t) {
  if (t == "boolean") return ColumnKind::kBool;
  if (t == "smallint") return ColumnKind::kInt16;
  if (t == "integer") return ColumnKind::kInt32;
  if (t == "bigint") return ColumnKind::kInt64;
  if (t == "real") return ColumnKind::kFloat32;
  if (t == "double precision") return ColumnKind::kFloat64;
  if (t == "numeric") return ColumnKind::kNumeric;
  if (t == "text" || t == "character varying" || t == "character")
    return ColumnKind::kText;
  if (t == "uuid") return ColumnKind::kUuid;
  if (t == "json" || t == "jsonb") return ColumnKind::kJson;
  if (t == "timestamp with time zone") return ColumnKind::kTimestampTz;
  if (t == "timestamp without time zone") return ColumnKind::kTimestamp;
  if (t == "bytea") return ColumnKind::kBytea;
  return ColumnKind::kOther;
}

const char* ColumnKindName(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kBool:
      return "boolean";
    case ColumnKind::kInt16:
      return "smallint";
    case ColumnKind::kInt32:
      return "integer";
    case ColumnKind::kInt64:
      return "bigint";
    case ColumnKind::kFloat32:
      return "real";
    case ColumnKind::kFloat64:
      return "double precision";
    case ColumnKind::kNumeric:
      return "numeric";
    case ColumnKind::kText:
      return "text";
    case ColumnKind::kUuid:
      return "uuid";
    case ColumnKind::kJson:
      return "json";
    case ColumnKind::kTimestampTz:
      return "timestamptz";
    case ColumnKind::kTimestamp:
      return "timestamp";
    case ColumnKind::kBytea:
      return "bytea";
    case ColumnKind::kOther:
      return "other";
  }
  return "?";
}

void AppendCopyEscaped(absl::string_view text, std::string* line) {
  for (char c : text) {
    switch (c) {
      case '\\':
        line->append("\\\\");
        break;
      case '\t':
        line->append("\\t");
        break;
      case '\n':
        line->append("\\n");
        break;
      case '\r':
        line->append("\\r");
        break;
      default:
        line->push_back(c);
    }
  }
}

absl::Status AppendCopyField(const CellValue& value, ColumnKind kind,
                             std::string* line) {
  using Type = CellValue::Type;
  switch (value.type) {
    case Type::kMissing:
      return absl::InvalidArgumentError(
          "the cell has no value (use null_value)");
    case Type::kNull:
      line->append("\\N");
      return absl::OkStatus();
    case Type::kBool:
      if (kind != ColumnKind::kBool) return Mismatch(value, kind);
      line->push_back(value.bool_value ? 't' : 'f');
      return absl::OkStatus();
    case Type::kInt64: {
      int64_t min = std::numeric_limits<int64_t>::min();
      int64_t max = std::numeric_limits<int64_t>::max();
      switch (kind) {
        case ColumnKind::kInt16:
          min = std::numeric_limits<int16_t>::min();
          max = std::numeric_limits<int16_t>::max();
          break;
        case ColumnKind::kInt32:
          min = std::numeric_limits<int32_t>::min();
          max = std::numeric_limits<int32_t>::max();
          break;
        case ColumnKind::kInt64:
        case ColumnKind::kNumeric:
        case ColumnKind::kFloat32:
        case ColumnKind::kFloat64:
          break;
        default:
          return Mismatch(value, kind);
      }
      if (value.int_value < min || value.int_value > max) {
        return absl::InvalidArgumentError(
            absl::StrCat(value.int_value, " is outside the range of ",
                         ColumnKindName(kind)));
      }
      absl::StrAppend(line, value.int_value);
      return absl::OkStatus();
    }
    case Type::kDouble: {
      if (kind != ColumnKind::kFloat32 && kind != ColumnKind::kFloat64 &&
          kind != ColumnKind::kNumeric) {
        return Mismatch(value, kind);
      }
      const double d = value.double_value;
      if (std::isnan(d)) {
        line->append("NaN");
      } else if (std::isinf(d)) {
        line->append(d > 0 ? "Infinity" : "-Infinity");
      } else {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%.17g", d);  // round-trips
        line->append(buffer);
      }
      return absl::OkStatus();
    }
    case Type::kString:
      if (absl::Status ok = NoNul(value.text); !ok.ok()) return ok;
      return AppendTextAs(value.text, kind, line);
    case Type::kBytes: {
      if (kind != ColumnKind::kBytea) return Mismatch(value, kind);
      static constexpr char kHex[] = "0123456789abcdef";
      line->append("\\\\x");  // bytea's hex form \x..., its \ escaped
      for (unsigned char c : value.text) {
        line->push_back(kHex[c >> 4]);
        line->push_back(kHex[c & 15]);
      }
      return absl::OkStatus();
    }
    case Type::kTimestamp:
      if (kind != ColumnKind::kTimestampTz && kind != ColumnKind::kTimestamp) {
        return Mismatch(value, kind);
      }
      if (!store::InApiRange(value.time)) {
        return absl::InvalidArgumentError(
            "outside the range the API can represent (0001-01-01 to "
            "9999-12-31)");
      }
      line->append(absl::FormatTime(kind == ColumnKind::kTimestampTz
                                        ? "%Y-%m-%d %H:%M:%E6S+00"
                                        : "%Y-%m-%d %H:%M:%E6S",
                                    value.time, absl::UTCTimeZone()));
      return absl::OkStatus();
    case Type::kUuid:
      if (kind != ColumnKind::kUuid) return Mismatch(value, kind);
      if (!common::IsCanonicalUuid(value.text)) {
        return absl::InvalidArgumentError(
            "not a canonical UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
      }
      line->append(value.text);
      return absl::OkStatus();
    case Type::kJson: {
      if (kind != ColumnKind::kJson) return Mismatch(value, kind);
      std::string error;
      if (!common::IsValidJson(value.text, &error)) {
        return absl::InvalidArgumentError(
            absl::StrCat("not valid JSON (", error, ")"));
      }
      AppendCopyEscaped(value.text, line);
      return absl::OkStatus();
    }
  }
  return absl::InternalError("unknown cell type");
}

}  // namespace aves::bulk
