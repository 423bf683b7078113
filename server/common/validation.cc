#include "server/common/validation.h"

#include <absl/strings/ascii.h>
#include <absl/strings/str_cat.h>

#include "server/common/field_error.h"
#include "server/common/json_syntax.h"
#include "server/common/uuid.h"

namespace aves::common {

absl::Status ValidateUuid(absl::string_view field, absl::string_view value,
                          std::string* out) {
  if (value.empty()) return InvalidField(field, "required");
  if (!IsCanonicalUuid(value)) {
    return InvalidField(
        field, "not a canonical UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
  }
  *out = absl::AsciiStrToLower(value);
  return absl::OkStatus();
}

absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t max_length, bool required) {
  if (required && value.empty()) return InvalidField(field, "required");
  if (value.size() > max_length) {
    return InvalidField(field,
                        absl::StrCat("longer than ", max_length, " bytes"));
  }
  if (value.find('\0') != absl::string_view::npos) {
    return InvalidField(field, "contains a NUL character");
  }
  return absl::OkStatus();
}

absl::Status ValidateJson(absl::string_view field, absl::string_view value,
                          size_t max_bytes, JsonShape shape, bool required) {
  if (value.empty()) {
    return required ? InvalidField(field, "required") : absl::OkStatus();
  }
  if (value.size() > max_bytes) {
    return InvalidField(field,
                        absl::StrCat("longer than ", max_bytes, " bytes"));
  }
  std::string error;
  int64_t stored = 0;
  if (!IsValidJson(value, &error, &stored)) {
    return InvalidField(field, absl::StrCat("not valid JSON (", error, ")"));
  }
  const char first = value[value.find_first_not_of(" \t\n\r")];
  if (shape == JsonShape::kObject && first != '{') {
    return InvalidField(field, "must be a JSON object");
  }
  if (shape == JsonShape::kObjectOrArray && first != '{' && first != '[') {
    return InvalidField(field, "must be a JSON object or array");
  }
  const int64_t max_stored = 2 * static_cast<int64_t>(max_bytes);
  if (stored > max_stored) {
    return InvalidField(
        field,
        absl::StrCat("PostgreSQL would store it as up to ", stored,
                     " bytes (numbers with exponents are kept in full), more "
                     "than the ",
                     max_stored, " a read can send back"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRange(absl::string_view field, int64_t value, int64_t min,
                           int64_t max) {
  if (value < min || value > max) {
    return InvalidField(
        field, absl::StrCat(value, " is outside [", min, ", ", max, "]"));
  }
  return absl::OkStatus();
}

}  // namespace aves::common
