// Errors that name a request field, for any layer (validation in the
// handlers, or a store that finds a value PostgreSQL rejects). The field
// rides on the status as a payload; handlers::ToGrpcStatus turns it into a
// google.rpc.BadRequest detail for clients.
#ifndef AVES_SERVER_COMMON_FIELD_ERROR_H_
#define AVES_SERVER_COMMON_FIELD_ERROR_H_

#include <optional>
#include <string>

#include <absl/status/status.h>
#include <absl/strings/cord.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/string_view.h>

namespace aves::common {

inline constexpr char kFieldPayload[] = "aves.field";

// INVALID_ARGUMENT "field: problem", naming `field`.
inline absl::Status InvalidField(absl::string_view field,
                                 absl::string_view problem) {
  absl::Status status =
      absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
  status.SetPayload(kFieldPayload, absl::Cord(field));
  return status;
}

// The field a status names, if any.
inline std::optional<std::string> FieldOf(const absl::Status& status) {
  absl::optional<absl::Cord> field = status.GetPayload(kFieldPayload);
  if (!field.has_value()) return std::nullopt;
  return std::string(*field);
}

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_FIELD_ERROR_H_
