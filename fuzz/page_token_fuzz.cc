// The page-token codec (server/handlers/page_token): a token is whatever a
// client sends, so decoding any bytes must never crash and must refuse
// what the service did not issue; a token it issued must decode back to the
// same cursor, for its own list and filter only, until it expires.
//
// Input: a mode byte, then
//   0: the token itself, as a client might send anything;
//   1: a payload the fuzzer signs with the service's key (so the parsing
//      behind the MAC is reached), then decoded;
//   2: list, filter, sort key and id (each a length byte and bytes), round
//      tripped.
#include <algorithm>
#include <cstdint>
#include <string>

#include <absl/strings/ascii.h>
#include <absl/strings/escaping.h>
#include <absl/strings/str_cat.h>
#include <absl/time/time.h>

#include "fuzz/fuzz_check.h"
#include "server/common/crypto.h"
#include "server/handlers/page_token.h"

namespace aves::fuzz {
namespace {

constexpr char kKey[] = "fuzz-key";
absl::Time now = absl::FromUnixSeconds(1700000000);

const handlers::PageTokenCodec& Codec() {
  static const auto* codec =
      new handlers::PageTokenCodec(kKey, absl::Hours(24), [] { return now; });
  return *codec;
}

// The next length-prefixed piece of `input`.
std::string Take(absl::string_view& input) {
  if (input.empty()) return "";
  const size_t length =
      std::min<size_t>(static_cast<unsigned char>(input[0]), input.size() - 1);
  std::string piece(input.substr(1, length));
  input.remove_prefix(1 + length);
  return piece;
}

void CheckDecodeOf(const std::string& token) {
  absl::StatusOr<store::KeysetCursor> cursor =
      Codec().Decode(token, "annotations", "filter");
  if (!cursor.ok()) {
    AVES_FUZZ_CHECK(
        cursor.status().code() == absl::StatusCode::kInvalidArgument,
        cursor.status().ToString());
    return;
  }
  // What decodes must survive a new token for it.
  const std::string again = Codec().Encode("annotations", "filter", *cursor);
  absl::StatusOr<store::KeysetCursor> back =
      Codec().Decode(again, "annotations", "filter");
  AVES_FUZZ_CHECK(
      back.ok() && back->sort_key == cursor->sort_key && back->id == cursor->id,
      Show(token));
}

}  // namespace
}  // namespace aves::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aves;
  using namespace aves::fuzz;
  if (size == 0) return 0;
  absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      CheckDecodeOf(std::string(input));
      return 0;
    case 1: {
      std::string token;
      absl::WebSafeBase64Escape(
          absl::StrCat(input, common::HmacSha256(kKey, input).substr(0, 16)),
          &token);
      CheckDecodeOf(token);
      return 0;
    }
  }
  const std::string list = Take(input);
  const std::string filter = Take(input);
  const store::KeysetCursor cursor{Take(input), Take(input)};
  const std::string token = Codec().Encode(list, filter, cursor);
  const std::string what = absl::StrCat(
      "list ", Show(list), ", filter ", Show(filter), ", sort key ",
      Show(cursor.sort_key), ", id ", Show(cursor.id), ": ", Show(token));
  for (char c : token) {
    AVES_FUZZ_CHECK(absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                        c == '-' || c == '_',
                    what);
  }
  absl::StatusOr<store::KeysetCursor> back =
      Codec().Decode(token, list, filter);
  AVES_FUZZ_CHECK(back.ok(),
                  absl::StrCat(back.status().ToString(), "; ", what));
  AVES_FUZZ_CHECK(back->sort_key == cursor.sort_key && back->id == cursor.id,
                  absl::StrCat("decoded as ", Show(back->sort_key), ", ",
                               Show(back->id), "; ", what));
  AVES_FUZZ_CHECK(!Codec().Decode(token, list + "x", filter).ok(), what);
  AVES_FUZZ_CHECK(!Codec().Decode(token, list, filter + "x").ok(), what);
  // A day later it is still good; past that, refused.
  now += absl::Hours(24);
  AVES_FUZZ_CHECK(Codec().Decode(token, list, filter).ok(), what);
  now += absl::Seconds(1);
  AVES_FUZZ_CHECK(!Codec().Decode(token, list, filter).ok(), what);
  now -= absl::Hours(24) + absl::Seconds(1);
  return 0;
}
