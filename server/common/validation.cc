#include "server/common/validation.h"

#include <absl/strings/ascii.h>
#include <absl/strings/str_cat.h>

#include "server/common/field_error.h"
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

absl::Status ValidateRange(absl::string_view field, int64_t value, int64_t min,
                           int64_t max) {
  if (value < min || value > max) {
    return InvalidField(
        field, absl::StrCat(value, " is outside [", min, ", ", max, "]"));
  }
  return absl::OkStatus();
}

}  // namespace aves::common
