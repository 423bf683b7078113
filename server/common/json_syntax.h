// A JSON syntax check (RFC 8259) for values bound for json/jsonb columns, so
// a bad value is refused naming its row and column before it reaches COPY.
// It validates only; nothing is built. Also refused: \u0000 and a UTF-16
// surrogate escape not in a high-low pair, which jsonb cannot store.
#ifndef AVES_SERVER_COMMON_JSON_SYNTAX_H_
#define AVES_SERVER_COMMON_JSON_SYNTAX_H_

#include <cstdint>
#include <string>

#include <absl/strings/string_view.h>

namespace aves::common {

// Objects and arrays nested deeper than this are refused (PostgreSQL's own
// limit, 54001, comes from its stack size and lies far deeper).
inline constexpr int kMaxJsonDepth = 512;

// True when `text` is one JSON value (surrounding whitespace allowed);
// otherwise false with `error` saying what and where ("byte 12: ...").
bool IsValidJson(absl::string_view text, std::string* error);

// The same check; on success `stored_bytes_bound` is an upper bound of the
// text PostgreSQL prints for it as jsonb, which can be far longer than the
// input: numbers are printed in full (1e5 as 100000, 8 bytes of 1e130000 as
// 130,001) and a space follows every ':' and ','.
bool IsValidJson(absl::string_view text, std::string* error,
                 int64_t* stored_bytes_bound);

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_JSON_SYNTAX_H_
