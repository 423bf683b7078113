// Errors that name a request field, for any layer (validation in the
// handlers, or a store that finds a value PostgreSQL rejects). The field
// rides on the status as a payload; handlers::ToGrpcStatus turns it into a
// google.rpc.BadRequest detail for clients.
#ifndef AVES_SERVER_COMMON_FIELD_ERROR_H_
#define AVES_SERVER_COMMON_FIELD_ERROR_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <absl/status/status.h>
#include <absl/strings/cord.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_replace.h>
#include <absl/strings/string_view.h>

namespace aves::common {

// The payload holds one line per violation, "field\tproblem\n", so that a
// request with several bad fields is answered with all of them (AIP-193).
inline constexpr char kFieldPayload[] = "aves.field";

// INVALID_ARGUMENT "field: problem", naming `field`.
inline absl::Status InvalidField(absl::string_view field,
                                 absl::string_view problem) {
  absl::Status status =
      absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
  // A newline inside would split the violation in two.
  status.SetPayload(kFieldPayload,
                    absl::Cord(absl::StrCat(
                        absl::StrReplaceAll(field, {{"\n", " "}}), "\t",
                        absl::StrReplaceAll(problem, {{"\n", " "}}), "\n")));
  return status;
}

// Every field a status names, with its problem, in order.
std::vector<std::pair<std::string, std::string>> FieldViolationsOf(
    const absl::Status& status);

// Collects the outcome of each field's check, so a request is refused with
// every bad field at once rather than the first:
//   FieldChecks checks;
//   checks.Add(ValidateUuid("user_id", ...));
//   checks.Add(ValidateRange("difficulty_level", ...));
//   RETURN_IF_ERROR(checks.status());
class FieldChecks {
 public:
  // A status naming no field (not a validation finding) is kept as is and
  // wins over the violations.
  void Add(const absl::Status& status);
  // OK when every check passed; else one INVALID_ARGUMENT naming them all
  // ("user_id: ...; difficulty_level: ...").
  absl::Status status() const;

 private:
  absl::Status other_;
  std::vector<absl::Status> violations_;
};

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_FIELD_ERROR_H_
