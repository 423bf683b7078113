#include "server/db/sql_identifier.h"

namespace aves::db {

std::string QuoteIdentifier(absl::string_view name) {
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

std::string JoinQuotedIdentifiers(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) {
    if (!joined.empty()) joined += ", ";
    joined += QuoteIdentifier(name);
  }
  return joined;
}

}  // namespace aves::db
