#include "server/common/json_syntax.h"

#include <algorithm>

#include <absl/strings/str_cat.h>

namespace aves::common {
namespace {

class Checker {
 public:
  explicit Checker(absl::string_view text)
      : text_(text), stored_bound_(static_cast<int64_t>(text.size())) {}

  int64_t stored_bound() const { return stored_bound_; }

  bool Run(std::string* error) {
    SkipSpace();
    if (!Value(0)) return Fail(error);
    SkipSpace();
    if (pos_ != text_.size()) {
      problem_ = "unexpected text after the value";
      return Fail(error);
    }
    return true;
  }

 private:
  bool Fail(std::string* error) {
    if (error != nullptr) *error = absl::StrCat("byte ", pos_, ": ", problem_);
    return false;
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' ||
                        Peek() == '\r')) {
      ++pos_;
    }
  }
  bool Expect(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) {
      problem_ = absl::StrCat("expected ", word);
      return false;
    }
    pos_ += word.size();
    return true;
  }

  bool Value(int depth) {
    // `depth` containers enclose this value; it may open one more only
    // within the limit.
    if ((Peek() == '{' || Peek() == '[') && depth >= kMaxJsonDepth) {
      problem_ = "nested too deeply";
      return false;
    }
    switch (Peek()) {
      case '{':
        return Object(depth);
      case '[':
        return Array(depth);
      case '"':
        return String();
      case 't':
        return Expect("true");
      case 'f':
        return Expect("false");
      case 'n':
        return Expect("null");
      default:
        return Number();
    }
  }

  bool Object(int depth) {
    ++pos_;  // {
    SkipSpace();
    if (Peek() == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      if (Peek() != '"') {
        problem_ = "expected a string key";
        return false;
      }
      if (!String()) return false;
      SkipSpace();
      if (Peek() != ':') {
        problem_ = "expected ':'";
        return false;
      }
      ++pos_;
      SkipSpace();
      ++stored_bound_;  // jsonb prints ": "
      if (!Value(depth + 1)) return false;
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        ++stored_bound_;  // and ", "
        continue;
      }
      if (Peek() == '}') {
        ++pos_;
        return true;
      }
      problem_ = "expected ',' or '}'";
      return false;
    }
  }

  bool Array(int depth) {
    ++pos_;  // [
    SkipSpace();
    if (Peek() == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      if (!Value(depth + 1)) return false;
      SkipSpace();
      if (Peek() == ',') {
        ++pos_;
        ++stored_bound_;  // jsonb prints ", "
        continue;
      }
      if (Peek() == ']') {
        ++pos_;
        return true;
      }
      problem_ = "expected ',' or ']'";
      return false;
    }
  }

  static int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // The four hex digits at text_[at], as a UTF-16 code unit.
  bool HexUnit(size_t at, int* unit) const {
    if (at + 4 > text_.size()) return false;
    *unit = 0;
    for (size_t i = at; i < at + 4; ++i) {
      const int digit = HexValue(text_[i]);
      if (digit < 0) return false;
      *unit = *unit * 16 + digit;
    }
    return true;
  }

  bool String() {
    ++pos_;  // "
    while (!AtEnd()) {
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) {
        problem_ = "control character in a string";
        return false;
      }
      if (c != '\\') {
        ++pos_;
        continue;
      }
      ++pos_;
      const char escaped = Peek();
      if (escaped == 'u') {
        int unit = 0;
        if (!HexUnit(pos_ + 1, &unit)) {
          problem_ = "bad \\u escape";
          return false;
        }
        if (unit == 0) {
          problem_ = "\\u0000 cannot be stored in jsonb";
          return false;
        }
        pos_ += 5;
        // jsonb stores characters, so a UTF-16 surrogate must come as a
        // high one escaped right before a low one (22P02 otherwise).
        if (unit >= 0xDC00 && unit <= 0xDFFF) {
          pos_ -= 6;
          problem_ = "a low surrogate escape with no high one before it";
          return false;
        }
        if (unit >= 0xD800 && unit <= 0xDBFF) {
          int low = 0;
          if (text_.substr(pos_, 2) != "\\u" || !HexUnit(pos_ + 2, &low) ||
              low < 0xDC00 || low > 0xDFFF) {
            problem_ = "a high surrogate escape with no low one after it";
            return false;
          }
          pos_ += 6;
        }
        continue;
      }
      if (absl::string_view("\"\\/bfnrt").find(escaped) ==
              absl::string_view::npos ||
          AtEnd()) {
        problem_ = "bad escape";
        return false;
      }
      ++pos_;
    }
    problem_ = "unterminated string";
    return false;
  }

  bool Digits() {
    const size_t start = pos_;
    while (!AtEnd() && Peek() >= '0' && Peek() <= '9') ++pos_;
    return pos_ > start;
  }

  bool Number() {
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
    } else if (!Digits()) {
      problem_ = "expected a value";
      return false;
    }
    if (Peek() == '.') {
      ++pos_;
      if (!Digits()) {
        problem_ = "expected digits after '.'";
        return false;
      }
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      const size_t digits = pos_;
      if (!Digits()) {
        problem_ = "expected exponent digits";
        return false;
      }
      // Printed in full, the number grows by up to the exponent's value
      // (zeros after the digits, or before them: 1e-3 is 0.001). Saturating:
      // an exponent of 20 digits must not overflow the sum.
      int64_t exponent = 0;
      for (size_t i = digits; i < pos_; ++i) {
        exponent =
            std::min<int64_t>(exponent * 10 + (text_[i] - '0'), kHugeExponent);
      }
      stored_bound_ = std::min(stored_bound_ + exponent + 2, kHugeExponent);
    }
    return true;
  }

  // Far beyond any size the service accepts.
  static constexpr int64_t kHugeExponent = int64_t{1} << 50;

  absl::string_view text_;
  size_t pos_ = 0;
  int64_t stored_bound_;
  std::string problem_;
};

}  // namespace

bool IsValidJson(absl::string_view text, std::string* error) {
  return Checker(text).Run(error);
}

bool IsValidJson(absl::string_view text, std::string* error,
                 int64_t* stored_bytes_bound) {
  Checker checker(text);
  if (!checker.Run(error)) return false;
  *stored_bytes_bound = checker.stored_bound();
  return true;
}

}  // namespace aves::common
