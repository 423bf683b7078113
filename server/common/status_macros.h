// RETURN_IF_ERROR and ASSIGN_OR_RETURN: our abseil (20220623) ships neither,
// so they live here, once, for every layer.
#ifndef AVES_SERVER_COMMON_STATUS_MACROS_H_
#define AVES_SERVER_COMMON_STATUS_MACROS_H_

#include <utility>

#include <absl/status/status.h>
#include <absl/status/statusor.h>

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

#endif  // AVES_SERVER_COMMON_STATUS_MACROS_H_
