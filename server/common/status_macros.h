// RETURN_IF_ERROR and ASSIGN_OR_RETURN: our abseil (20220623) ships neither,
// so they live here, once, for every layer; and WithContext, to say where an
// error happened without losing what it carries.
#ifndef AVES_SERVER_COMMON_STATUS_MACROS_H_
#define AVES_SERVER_COMMON_STATUS_MACROS_H_

#include <utility>

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <absl/strings/cord.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/string_view.h>

// Returns from the enclosing function if `expr` yields a non-OK absl::Status.
#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status aves_status_ = (expr);        \
    if (!aves_status_.ok()) return aves_status_; \
  } while (false)

#define AVES_CONCAT_INNER_(a, b) a##b
#define AVES_CONCAT_(a, b) AVES_CONCAT_INNER_(a, b)

// `ASSIGN_OR_RETURN(auto x, StatusOrExpr());` declares/assigns x from the
// value, or returns the error status from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr) \
  AVES_ASSIGN_OR_RETURN_IMPL_(AVES_CONCAT_(aves_statusor_, __LINE__), lhs, expr)
#define AVES_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)   \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

namespace aves::common {

// `status` with "context: " before its message, keeping its code and
// payloads (a SQLSTATE, a named field).
inline absl::Status WithContext(const absl::Status& status,
                                absl::string_view context) {
  if (status.ok()) return status;
  absl::Status annotated(status.code(),
                         absl::StrCat(context, ": ", status.message()));
  status.ForEachPayload(
      [&](absl::string_view type_url, const absl::Cord& payload) {
        annotated.SetPayload(type_url, payload);
      });
  return annotated;
}

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_STATUS_MACROS_H_
