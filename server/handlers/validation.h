// Request validation shared by the handlers: every field is checked before
// the database is touched, and a failure is INVALID_ARGUMENT naming the field
// ("user_id: not a canonical UUID").
#ifndef AVES_SERVER_HANDLERS_VALIDATION_H_
#define AVES_SERVER_HANDLERS_VALIDATION_H_

#include <cstddef>
#include <string>

#include <absl/status/status.h>
#include <absl/strings/string_view.h>

#include "server/common/field_error.h"

namespace aves::handlers {

// INVALID_ARGUMENT "field: problem" naming the field (server/common).
using common::InvalidField;

// True for 8-4-4-4-12 hex digits (either case).
bool IsCanonicalUuid(absl::string_view text);

// A UUID field: canonical form required; returns it lower-cased in `out`.
absl::Status ValidateUuid(absl::string_view field, absl::string_view value,
                          std::string* out);

// A text field: at most `max_length` bytes, no NUL (PostgreSQL text cannot
// hold one), and non-empty when `required`.
absl::Status ValidateText(absl::string_view field, absl::string_view value,
                          size_t max_length, bool required);

// An integer field within [min, max].
absl::Status ValidateRange(absl::string_view field, int64_t value, int64_t min,
                           int64_t max);

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_VALIDATION_H_
