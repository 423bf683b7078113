// SQL identifiers for statements whose table or column names are not
// constants (bulk loads): a name from the catalog, never from a request, is
// double-quoted with embedded quotes doubled, so it can only ever be a name.
#ifndef AVES_SERVER_DB_SQL_IDENTIFIER_H_
#define AVES_SERVER_DB_SQL_IDENTIFIER_H_

#include <string>
#include <vector>

#include <absl/strings/string_view.h>

namespace aves::db {

// "name" with any " doubled.
std::string QuoteIdentifier(absl::string_view name);

// The names quoted and joined with ", " (a column list).
std::string JoinQuotedIdentifiers(const std::vector<std::string>& names);

}  // namespace aves::db

#endif  // AVES_SERVER_DB_SQL_IDENTIFIER_H_
