// Request validation shared by the handlers: every field is checked before
// the database is touched, and a failure is INVALID_ARGUMENT naming the field
// ("user_id: not a canonical UUID").
#ifndef AVES_SERVER_HANDLERS_VALIDATION_H_
#define AVES_SERVER_HANDLERS_VALIDATION_H_

#include <cstddef>
#include <string>

#include <absl/status/status.h>
#include <absl/strings/string_view.h>

namespace aves::handlers {

// Payload key of a serialized google.rpc.BadRequest on an absl::Status; the
// gRPC conversion sends it to clients as a rich-error detail.
inline constexpr char kBadRequestPayload[] =
    "type.googleapis.com/google.rpc.BadRequest";

// INVALID_ARGUMENT "field: problem", carrying a google.rpc.BadRequest that
// names the field.
absl::Status InvalidField(absl::string_view field, absl::string_view problem);

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
