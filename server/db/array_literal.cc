#include "server/db/array_literal.h"

namespace aves::db {

std::string ArrayLiteral(const std::vector<std::optional<std::string>>& items) {
  std::string literal = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) literal += ',';
    if (!items[i].has_value()) {
      literal += "NULL";
      continue;
    }
    literal += '"';
    for (char c : *items[i]) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return literal;
}

std::string TextArrayLiteral(const std::vector<std::string>& items) {
  return ArrayLiteral(
      std::vector<std::optional<std::string>>(items.begin(), items.end()));
}

}  // namespace aves::db
