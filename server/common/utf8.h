// UTF-8 helpers for text the service quotes back (a refused cell in an error
// message): a cut must never split a character, or PostgreSQL refuses the
// message itself (22021) when it is stored.
#ifndef AVES_SERVER_COMMON_UTF8_H_
#define AVES_SERVER_COMMON_UTF8_H_

#include <cstddef>

#include <absl/strings/string_view.h>

namespace aves::common {

// The longest prefix of `text` of at most `max_bytes` bytes that ends on a
// character boundary (continuation bytes of a cut character are dropped).
absl::string_view Utf8Prefix(absl::string_view text, size_t max_bytes);

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_UTF8_H_
