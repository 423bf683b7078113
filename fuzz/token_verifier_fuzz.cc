// Bearer-token verification (server/auth/token_verifier): a token is
// whatever a caller sends, so any bytes must be refused with UNAUTHENTICATED
// and never crash; and whatever claims a correctly signed token carries
// (bytes libjwt and jansson must parse), a token that verifies must give a
// subject fit for a log and a row, and a validity that has not passed.
//
// Input: a mode byte, then
//   0: the token itself;
//   1: header and payload JSON (a length byte, the header, then the
//      payload), base64url-encoded and signed with HS256 and the key, so the
//      claims checks behind the signature are reached.
#include <algorithm>
#include <cstdint>
#include <string>

#include <absl/strings/escaping.h>
#include <absl/strings/str_cat.h>
#include <absl/time/time.h>

#include "fuzz/fuzz_check.h"
#include "server/auth/token_verifier.h"
#include "server/common/crypto.h"

namespace aves::fuzz {
namespace {

const std::string kKey(40, 'f');
const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

const auth::TokenVerifier& Verifier() {
  static const auto* verifier = [] {
    auth::VerifierOptions options;
    options.algorithm = auth::Algorithm::kHs256;
    options.key = kKey;
    return new auth::TokenVerifier(*auth::TokenVerifier::Create(options));
  }();
  return *verifier;
}

void CheckVerifyOf(const std::string& token) {
  absl::StatusOr<auth::VerifiedToken> verified = Verifier().Verify(token, kNow);
  if (!verified.ok()) {
    AVES_FUZZ_CHECK(
        verified.status().code() == absl::StatusCode::kUnauthenticated,
        verified.status().ToString());
    return;
  }
  const std::string& subject = verified->subject;
  AVES_FUZZ_CHECK(!subject.empty() && subject.size() <= auth::kMaxSubjectBytes,
                  Show(subject));
  for (unsigned char c : subject) {
    AVES_FUZZ_CHECK(c >= 0x20 && c != 0x7f, Show(subject));
  }
  AVES_FUZZ_CHECK(verified->valid_until >= kNow, Show(token));
}

}  // namespace
}  // namespace aves::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aves;
  using namespace aves::fuzz;
  if (size == 0) return 0;
  absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    CheckVerifyOf(std::string(input));
    return 0;
  }
  if (input.empty()) return 0;
  const size_t header_length =
      std::min<size_t>(static_cast<unsigned char>(input[0]), input.size() - 1);
  const absl::string_view header = input.substr(1, header_length);
  const absl::string_view payload = input.substr(1 + header_length);
  const std::string signed_part =
      absl::StrCat(absl::WebSafeBase64Escape(header), ".",
                   absl::WebSafeBase64Escape(payload));
  CheckVerifyOf(absl::StrCat(
      signed_part, ".",
      absl::WebSafeBase64Escape(common::HmacSha256(kKey, signed_part))));
  return 0;
}
