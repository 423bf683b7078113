// What every fuzz target shares: a check that stops the run as a crash
// (libFuzzer then saves the input), and a UTF-8 test for invariants about
// text.
#ifndef AVES_FUZZ_FUZZ_CHECK_H_
#define AVES_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include <absl/strings/escaping.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/string_view.h>

namespace aves::fuzz {

[[noreturn]] inline void Fail(const char* condition, const char* file, int line,
                              absl::string_view detail) {
  std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n  %s\n", file, line,
               condition, std::string(detail).c_str());
  std::abort();
}

// Quoted with C escapes, cut, for a failure's detail.
inline std::string Show(absl::string_view text) {
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, 300)),
                      text.size() > 300 ? "\"..." : "\"");
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF), as PostgreSQL's UTF8 encoding requires.
inline bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    unsigned min = 0;
    unsigned code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2, min = 0x80, code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3, min = 0x800, code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4, min = 0x10000, code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

}  // namespace aves::fuzz

// Stops the run when `condition` is false; `detail` (a string) says what was
// seen.
#define AVES_FUZZ_CHECK(condition, detail)                          \
  do {                                                              \
    if (!(condition)) {                                             \
      ::aves::fuzz::Fail(#condition, __FILE__, __LINE__, (detail)); \
    }                                                               \
  } while (false)

#endif  // AVES_FUZZ_FUZZ_CHECK_H_
