// A JSON syntax check (RFC 8259) for values bound for json/jsonb columns, so
// a bad value is refused naming its row and column before it reaches COPY.
// It validates only; nothing is built. Also refused: \u0000, which jsonb
// cannot store.
#ifndef AVES_SERVER_COMMON_JSON_SYNTAX_H_
#define AVES_SERVER_COMMON_JSON_SYNTAX_H_

#include <string>

#include <absl/strings/string_view.h>

namespace aves::common {

// True when `text` is one JSON value (surrounding whitespace allowed);
// otherwise false with `error` saying what and where ("byte 12: ...").
bool IsValidJson(absl::string_view text, std::string* error);

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_JSON_SYNTAX_H_
