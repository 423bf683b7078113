// Field validation shared by the handlers and the bulk path's header: every
// field is checked before the database is touched, and a failure is
// INVALID_ARGUMENT naming the field ("user_id: not a canonical UUID").
#ifndef AVES_SERVER_COMMON_VALIDATION_H_
#define AVES_SERVER_COMMON_VALIDATION_H_

#include <cstddef>
#include <string>

#include <absl/status/status.h>
#include <absl/strings/string_view.h>

namespace aves::common {

// A UUID field: canonical form required; returns it lower-cased in `out`.
absl::Status ValidateUuid(absl::string_view field, absl::string_view value,
                          std::string* out);

// A text field: at most `max_length` bytes, no NUL (PostgreSQL text cannot
// hold one), and non-empty when `required`.
absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t max_length, bool required);

// What a JSON field must hold at its top level.
enum class JsonShape { kAny, kObjectOrArray, kObject };

// A JSON text field (empty is refused when `required`, else allowed): at
// most `max_bytes`, valid JSON (nested at most kMaxJsonDepth deep, no
// \u0000 or a lone surrogate), of `shape`, and — since a read must be able to
// send it back — at most 2 * max_bytes as PostgreSQL stores and prints it
// (jsonb prints numbers in full: 1e130000 is 130,001 bytes).
absl::Status ValidateJson(absl::string_view field, absl::string_view value,
                          size_t max_bytes, JsonShape shape, bool required);

// An integer field within [min, max].
absl::Status ValidateRange(absl::string_view field, int64_t value, int64_t min,
                           int64_t max);

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_VALIDATION_H_
