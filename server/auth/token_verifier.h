// Bearer tokens: JSON Web Tokens signed with one configured key (an HS256
// secret, or an RS256 / ES256 public key), checked the way PostgREST checks
// them: the signature with the configured algorithm only (a token naming
// another, "none" among them, is refused), `exp` required, `nbf` when
// present, `iss` / `aud` when configured, the caller's roles in the `role`
// claim (a name or an array of names), `sub` naming the caller.
//
// libjwt (Debian's libjwt-dev) checks the signature; jansson (which libjwt
// itself uses) reads the claims. Both are C libraries: everything they
// allocate is released here, and nothing they return outlives a call.
#ifndef AVES_SERVER_AUTH_TOKEN_VERIFIER_H_
#define AVES_SERVER_AUTH_TOKEN_VERIFIER_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/time/time.h>

#include "server/auth/roles.h"

namespace aves::auth {

enum class Algorithm { kHs256, kRs256, kEs256 };
absl::string_view AlgorithmName(Algorithm algorithm);
// "HS256", "RS256" or "ES256"; INVALID_ARGUMENT otherwise.
absl::StatusOr<Algorithm> AlgorithmNamed(absl::string_view name);

// An HS256 secret shorter than this could be guessed (RFC 7518 3.2: at
// least the hash's 256 bits).
inline constexpr size_t kMinHmacSecretBytes = 32;
// Longer tokens are refused before any parsing: a header is not a payload.
inline constexpr size_t kMaxTokenBytes = 8 << 10;
// `sub` names a caller in logs and rows (annotations.reviewed_by, whose
// reviewer field takes 200 bytes).
inline constexpr size_t kMaxSubjectBytes = 200;

struct VerifierOptions {
  Algorithm algorithm = Algorithm::kHs256;
  // The HS256 secret, or the PEM public key for RS256 / ES256.
  std::string key;
  // When set, a token's `iss` must equal it, and its `aud` (a string or an
  // array of strings) must contain `audience`.
  std::string issuer;
  std::string audience;
  // Clock skew allowed between the token's issuer and avesd.
  absl::Duration leeway = absl::Seconds(30);
};

// Options that check the signature and the times only (no issuer or
// audience), with the default leeway.
inline VerifierOptions KeyOptions(Algorithm algorithm, std::string key) {
  VerifierOptions options;
  options.algorithm = algorithm;
  options.key = std::move(key);
  return options;
}

struct VerifiedToken {
  std::string subject;
  // Names the token holds that are not roles are ignored: an issuer may
  // serve other services too. A token with none of ours verifies with an
  // empty set, and may call nothing.
  RoleSet roles;
  // When the token stops verifying (`exp` plus the leeway).
  absl::Time valid_until;
};

class TokenVerifier {
 public:
  // INVALID_ARGUMENT when the key does not suit the algorithm: an HS256
  // secret shorter than kMinHmacSecretBytes, an RS256 key under 2048 bits,
  // an ES256 key not on P-256, a PEM that does not parse.
  static absl::StatusOr<TokenVerifier> Create(VerifierOptions options);

  // UNAUTHENTICATED "bearer token: <why>" for anything but a token that
  // verifies at `now`.
  absl::StatusOr<VerifiedToken> Verify(absl::string_view token,
                                       absl::Time now) const;

  const VerifierOptions& options() const { return options_; }

 private:
  explicit TokenVerifier(VerifierOptions options)
      : options_(std::move(options)) {}
  VerifierOptions options_;
};

// What MintToken signs: for `avesd token`, tests and benchmarks.
struct TokenClaims {
  std::string subject;
  std::vector<std::string> roles;
  absl::Time issued_at;
  absl::Time expires;
  std::optional<absl::Time> not_before;
  std::string issuer;
  std::string audience;
};

// A token of `claims` signed with `signing_key` (the HS256 secret, or a PEM
// private key for RS256 / ES256).
absl::StatusOr<std::string> MintToken(Algorithm algorithm,
                                      absl::string_view signing_key,
                                      const TokenClaims& claims);

}  // namespace aves::auth

#endif  // AVES_SERVER_AUTH_TOKEN_VERIFIER_H_
