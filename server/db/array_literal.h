// PostgreSQL array literals for passing lists as one query parameter
// ($1::text[]), which libpqxx 6.4 cannot do by itself. The literal is a
// parameter value, never SQL text: every element is double-quoted with
// backslashes and quotes escaped, so any string round-trips.
#ifndef AVES_SERVER_DB_ARRAY_LITERAL_H_
#define AVES_SERVER_DB_ARRAY_LITERAL_H_

#include <optional>
#include <string>
#include <vector>

namespace aves::db {

// {"a","b\"c",NULL} for {"a", "b\"c", nullopt}. Elements must not contain NUL
// (PostgreSQL text cannot hold one; callers validate).
std::string ArrayLiteral(const std::vector<std::optional<std::string>>& items);

// The same for a list without NULLs.
std::string TextArrayLiteral(const std::vector<std::string>& items);

}  // namespace aves::db

#endif  // AVES_SERVER_DB_ARRAY_LITERAL_H_
