#include "tests/support/test_tokens.h"

#include <utility>

#include <absl/time/clock.h>

#include "server/auth/token_verifier.h"
#include "tests/support/status_matchers.h"

namespace aves::testing {

std::string TestToken(const std::string& subject,
                      std::vector<std::string> roles, absl::Duration ttl) {
  auth::TokenClaims claims;
  claims.subject = subject;
  claims.roles = std::move(roles);
  claims.issued_at = absl::Now();
  claims.expires = claims.issued_at + ttl;
  absl::StatusOr<std::string> token =
      auth::MintToken(auth::Algorithm::kHs256, kTestTokenSecret, claims);
  EXPECT_OK(token);
  return token.ok() ? *token : "";
}

}  // namespace aves::testing
