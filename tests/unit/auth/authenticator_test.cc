// Who a call is: tokens (cached until they expire), certificate mappings,
// and which wins.
#include "server/auth/authenticator.h"

#include <string>

#include <absl/strings/str_cat.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace aves::auth {
namespace {

using ::aves::testing::StatusIs;
using ::testing::HasSubstr;

const std::string kSecret(40, 'k');
const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

std::string Token(const std::string& subject, std::vector<std::string> roles,
                  absl::Duration ttl = absl::Hours(1)) {
  TokenClaims claims;
  claims.subject = subject;
  claims.roles = std::move(roles);
  claims.issued_at = kNow;
  claims.expires = kNow + ttl;
  absl::StatusOr<std::string> token =
      MintToken(Algorithm::kHs256, kSecret, claims);
  EXPECT_OK(token);
  return token.ok() ? *token : "";
}

std::unique_ptr<Authenticator> Make(size_t cache_capacity = 100) {
  AuthOptions options;
  options.token =
      VerifierOptions{Algorithm::kHs256, kSecret, "", "", absl::Seconds(0)};
  options.certificate_roles["dashboard-1"] = RoleSet{Role::kDashboard};
  options.cache_capacity = cache_capacity;
  auto authenticator = Authenticator::Create(std::move(options));
  EXPECT_OK(authenticator);
  return authenticator.ok() ? *std::move(authenticator) : nullptr;
}

TEST(AuthenticatorTest, ARepeatedTokenIsAnsweredFromTheCacheUntilItExpires) {
  auto authenticator = Make();
  const std::string token = Token("frontend-a", {"frontend"}, absl::Minutes(1));
  auto first = authenticator->Authenticate(token, {}, kNow);
  ASSERT_OK(first);
  EXPECT_EQ((*first)->subject, "frontend-a");
  EXPECT_EQ((*first)->roles, RoleSet{Role::kFrontend});
  EXPECT_STREQ((*first)->via, "token");
  auto again = authenticator->Authenticate(token, {}, kNow + absl::Seconds(30));
  ASSERT_OK(again);
  EXPECT_EQ(first->get(), again->get()) << "the cached caller";
  EXPECT_EQ(authenticator->cached_tokens(), 1u);
  EXPECT_THAT(
      authenticator->Authenticate(token, {}, kNow + absl::Minutes(2)),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")))
      << "a cached token expires like any other";
}

TEST(AuthenticatorTest, ARefusedTokenIsNotCached) {
  auto authenticator = Make();
  EXPECT_THAT(authenticator->Authenticate("garbage", {}, kNow),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(authenticator->cached_tokens(), 0u);
}

TEST(AuthenticatorTest, AFullCacheStaysWithinItsCapacity) {
  auto authenticator = Make(/*cache_capacity=*/4);
  for (int i = 0; i < 20; ++i) {
    ASSERT_OK(authenticator->Authenticate(
        Token(absl::StrCat("caller-", i), {"loader"}), {}, kNow));
    EXPECT_LE(authenticator->cached_tokens(), 4u);
  }
  // Still verifies (a full cache drops entries, never callers).
  ASSERT_OK(
      authenticator->Authenticate(Token("caller-0", {"loader"}), {}, kNow));
}

TEST(AuthenticatorTest, TheCacheIsBoundedInBytesToo) {
  AuthOptions options;
  options.token = KeyOptions(Algorithm::kHs256, kSecret);
  options.cache_capacity = 1000;
  options.cache_max_bytes = kMaxTokenBytes;
  auto authenticator = Authenticator::Create(std::move(options));
  ASSERT_OK(authenticator);
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK((*authenticator)
                  ->Authenticate(Token(absl::StrCat("caller-", i), {"loader"}),
                                 {}, kNow));
    EXPECT_LE((*authenticator)->cached_token_bytes(), kMaxTokenBytes);
  }
  EXPECT_GT((*authenticator)->cached_tokens(), 0u);
  EXPECT_LT((*authenticator)->cached_tokens(), 200u);
  AuthOptions too_small;
  too_small.token = KeyOptions(Algorithm::kHs256, kSecret);
  too_small.cache_max_bytes = kMaxTokenBytes - 1;
  EXPECT_THAT(Authenticator::Create(std::move(too_small)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(AuthenticatorTest, AMappedCertificateAuthenticatesAndATokenOverridesIt) {
  auto authenticator = Make();
  auto by_cert = authenticator->Authenticate("", {"dashboard-1"}, kNow);
  ASSERT_OK(by_cert);
  EXPECT_EQ((*by_cert)->subject, "cn:dashboard-1");
  EXPECT_EQ((*by_cert)->roles, RoleSet{Role::kDashboard});
  auto by_token = authenticator->Authenticate(Token("reviewer-9", {"reviewer"}),
                                              {"dashboard-1"}, kNow);
  ASSERT_OK(by_token);
  EXPECT_EQ((*by_token)->roles, RoleSet{Role::kReviewer});
  EXPECT_THAT(authenticator->Authenticate("bad", {"dashboard-1"}, kNow),
              StatusIs(absl::StatusCode::kUnauthenticated))
      << "a bad token is not rescued by a good certificate";
  EXPECT_THAT(
      authenticator->Authenticate("", {"unmapped"}, kNow),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("unmapped")));
  EXPECT_THAT(
      authenticator->Authenticate("", {}, kNow),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("Bearer")));
}

TEST(AuthenticatorTest, NeedsSomethingToAuthenticateWith) {
  EXPECT_THAT(Authenticator::Create(AuthOptions{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  AuthOptions short_secret;
  short_secret.token = KeyOptions(Algorithm::kHs256, "tiny");
  EXPECT_THAT(Authenticator::Create(std::move(short_secret)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  AuthOptions certificates_only;
  certificates_only.certificate_roles["loader-host"] = RoleSet{Role::kLoader};
  auto authenticator = Authenticator::Create(std::move(certificates_only));
  ASSERT_OK(authenticator);
  EXPECT_THAT(
      (*authenticator)->Authenticate("some.bearer.token", {}, kNow),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("accepts none")));
}

}  // namespace
}  // namespace aves::auth
