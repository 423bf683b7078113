// The one canonical-UUID check (8-4-4-4-12 hex digits, either case), shared
// by request validation and bulk-load cells.
#ifndef AVES_SERVER_COMMON_UUID_H_
#define AVES_SERVER_COMMON_UUID_H_

#include <absl/strings/ascii.h>
#include <absl/strings/string_view.h>

namespace aves::common {

inline bool IsCanonicalUuid(absl::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position
            ? text[i] != '-'
            : !absl::ascii_isxdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_UUID_H_
