// The JSON syntax check (server/common/json_syntax, and ValidateJson over
// it): any bytes, never a crash; both overloads agree; the depth bound is
// honoured, checked by an independent count; and, where the two are meant
// to agree, a second opinion (nlohmann::json, strict RFC 8259) accepts
// exactly what it accepts. They are meant to differ only where PostgreSQL's
// jsonb is stricter than the RFC (\u0000), where the input is not UTF-8
// (gRPC and PostgreSQL refuse that before and after us), and where nlohmann
// has quirks: it skips a leading byte order mark, stops at a NUL byte and
// refuses numbers past a double's range.
#include <algorithm>
#include <cstdint>
#include <string>

#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>

#include "fuzz/fuzz_check.h"
#include "server/common/json_syntax.h"
#include "server/common/validation.h"

#include <nlohmann/json.hpp>

namespace aves::fuzz {
namespace {

// The deepest nesting of [ and { outside strings in text[0, end), assuming
// the strings are well formed where it matters (the check's own job).
int MaxDepth(absl::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// nlohmann's verdict, and why it refused.
struct SecondOpinion final : nlohmann::json_sax<nlohmann::json> {
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& error) override {
    why = error.what();
    return false;
  }
  std::string why;
};

}  // namespace
}  // namespace aves::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aves;
  using namespace aves::fuzz;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const bool ok = common::IsValidJson(text, &error);
  int64_t bound = -1;
  std::string error2;
  AVES_FUZZ_CHECK(common::IsValidJson(text, &error2, &bound) == ok, Show(text));
  AVES_FUZZ_CHECK(error == error2, Show(error));
  if (ok) {
    AVES_FUZZ_CHECK(bound >= static_cast<int64_t>(size), Show(text));
    AVES_FUZZ_CHECK(MaxDepth(text) <= common::kMaxJsonDepth, Show(text));
  } else {
    AVES_FUZZ_CHECK(absl::StartsWith(error, "byte "), error);
    size_t at = 0;
    const size_t digits = error.find(':');
    AVES_FUZZ_CHECK(digits != std::string::npos &&
                        absl::SimpleAtoi(error.substr(5, digits - 5), &at) &&
                        at <= size,
                    error);
    if (absl::StrContains(error, "nested too deeply")) {
      // Refused where a container opens past the bound, never sooner.
      AVES_FUZZ_CHECK(MaxDepth(text.substr(0, at + 1)) > common::kMaxJsonDepth,
                      error);
    }
  }

  const bool comparable =
      IsValidUtf8(text) && !absl::StrContains(text, "u0000") &&
      !absl::StrContains(text, absl::string_view("\0", 1)) &&
      !absl::StartsWith(text, "\xEF\xBB\xBF") &&
      MaxDepth(text) <= common::kMaxJsonDepth;
  if (comparable) {
    SecondOpinion opinion;
    const bool second =
        nlohmann::json::sax_parse(text.begin(), text.end(), &opinion);
    // nlohmann refuses numbers past a double's range; JSON and PostgreSQL's
    // numeric do not.
    if (!absl::StrContains(opinion.why, "number overflow")) {
      AVES_FUZZ_CHECK(
          ok == second,
          absl::StrCat("ours ", ok, " (", error, "), nlohmann ", second, " (",
                       opinion.why, "): ", Show(text)));
    }
  }

  if (ok && MaxDepth(text) < common::kMaxJsonDepth) {
    const std::string wrapped = absl::StrCat(" [\t", text, "\r\n,1]\n");
    AVES_FUZZ_CHECK(common::IsValidJson(wrapped, nullptr), Show(wrapped));
  }

  // The field check over it: never a crash; accepts only valid JSON.
  const size_t max_bytes = size == 0 ? 0 : data[0] * 16;
  for (common::JsonShape shape :
       {common::JsonShape::kAny, common::JsonShape::kObjectOrArray,
        common::JsonShape::kObject}) {
    const absl::Status field =
        common::ValidateJson("metadata", text, max_bytes, shape, false);
    AVES_FUZZ_CHECK(!field.ok() || size == 0 || ok, field.ToString());
  }
  return 0;
}
