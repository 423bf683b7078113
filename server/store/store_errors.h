// Database refusals that are the caller's mistake, turned into errors that
// name the request field.
#ifndef AVES_SERVER_STORE_STORE_ERRORS_H_
#define AVES_SERVER_STORE_STORE_ERRORS_H_

#include <absl/status/status.h>
#include <absl/strings/string_view.h>

namespace aves::store {

// When `status` is PostgreSQL refusing a value as JSON (22P02, 22032),
// INVALID_ARGUMENT naming `field` with PostgreSQL's reason; otherwise
// `status` unchanged.
absl::Status NameInvalidJson(const absl::Status& status,
                             absl::string_view field);

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_STORE_ERRORS_H_
