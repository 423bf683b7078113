// Bearer-token verification, one way to forge or misuse a token per case.
// RS256 and ES256 keys are made with openssl at run time.
#include "server/auth/token_verifier.h"

#include <string>

#include <absl/strings/escaping.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <absl/time/clock.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"

namespace aves::auth {
namespace {

using ::aves::testing::IsOkAndHolds;
using ::aves::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kOpenssl[] = "/usr/bin/openssl";
const std::string kSecret = "0123456789abcdef0123456789abcdef-hs256";

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
};

// A key pair from openssl: "rsa:2048", "rsa:1024" or "ec:prime256v1" style.
KeyPair MakeKeys(const std::string& kind) {
  const std::string dir = testing::MakeTempDir();
  const std::string private_file = dir + "/key.pem";
  const std::string public_file = dir + "/key.pub";
  std::vector<std::string> generate = {kOpenssl, "genpkey", "-out",
                                       private_file};
  if (absl::StartsWith(kind, "rsa:")) {
    for (const char* arg : {"-algorithm", "RSA", "-pkeyopt"})
      generate.push_back(arg);
    generate.push_back(absl::StrCat("rsa_keygen_bits:", kind.substr(4)));
  } else {
    for (const char* arg : {"-algorithm", "EC", "-pkeyopt"})
      generate.push_back(arg);
    generate.push_back(absl::StrCat("ec_paramgen_curve:", kind.substr(3)));
  }
  EXPECT_EQ(testing::RunCommand(generate).exit_code, 0) << kind;
  EXPECT_EQ(testing::RunCommand({kOpenssl, "pkey", "-in", private_file,
                                 "-pubout", "-out", public_file})
                .exit_code,
            0);
  return {testing::ReadFileOrEmpty(private_file),
          testing::ReadFileOrEmpty(public_file)};
}

TokenClaims Claims(absl::Time now,
                   std::vector<std::string> roles = {"loader"}) {
  TokenClaims claims;
  claims.subject = "loader-7";
  claims.roles = std::move(roles);
  claims.issued_at = now;
  claims.expires = now + absl::Hours(1);
  return claims;
}

TokenVerifier Hs256(std::string issuer = "", std::string audience = "") {
  auto verifier = TokenVerifier::Create(
      VerifierOptions{Algorithm::kHs256, kSecret, std::move(issuer),
                      std::move(audience), absl::Seconds(30)});
  EXPECT_OK(verifier);
  return *std::move(verifier);
}

std::string Sign(const TokenClaims& claims) {
  absl::StatusOr<std::string> token =
      MintToken(Algorithm::kHs256, kSecret, claims);
  EXPECT_OK(token);
  return token.ok() ? *token : "";
}

// A token with `header` and `payload` (JSON) and the given signature part.
std::string Handmade(const std::string& header, const std::string& payload,
                     const std::string& signature = "") {
  return absl::StrCat(absl::WebSafeBase64Escape(header), ".",
                      absl::WebSafeBase64Escape(payload), ".", signature);
}

// `header` and `payload` signed with HMAC-SHA256 and kSecret: what another
// issuer could send, claims libjwt's MintToken would never write.
std::string SignedByHand(const std::string& header,
                         const std::string& payload) {
  const std::string input = absl::StrCat(absl::WebSafeBase64Escape(header), ".",
                                         absl::WebSafeBase64Escape(payload));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
       &mac_length);
  return absl::StrCat(input, ".",
                      absl::WebSafeBase64Escape(std::string(
                          reinterpret_cast<char*>(mac), mac_length)));
}

TEST(TokenVerifierTest, AcceptsAMintedTokenWithItsSubjectRolesAndExpiry) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  absl::StatusOr<VerifiedToken> verified = Hs256().Verify(
      Sign(Claims(now, {"loader", "dashboard", "not-ours"})), now);
  ASSERT_OK(verified);
  EXPECT_EQ(verified->subject, "loader-7");
  EXPECT_EQ(verified->roles, (RoleSet{Role::kLoader, Role::kDashboard}));
  EXPECT_EQ(verified->valid_until, now + absl::Hours(1) + absl::Seconds(30));
}

TEST(TokenVerifierTest, RefusesExpiredAndNotYetValidTokensBeyondTheLeeway) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  const std::string token = Sign(Claims(now));
  EXPECT_OK(Hs256().Verify(token, now + absl::Hours(1) + absl::Seconds(29)));
  EXPECT_THAT(
      Hs256().Verify(token, now + absl::Hours(1) + absl::Seconds(31)),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")));
  TokenClaims later = Claims(now);
  later.not_before = now + absl::Minutes(5);
  EXPECT_THAT(Hs256().Verify(Sign(later), now),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("nbf")));
  EXPECT_OK(Hs256().Verify(Sign(later), now + absl::Minutes(5)));
}

TEST(TokenVerifierTest, ChecksIssuerAndAudienceWhenConfigured) {
  const absl::Time now = absl::Now();
  TokenClaims claims = Claims(now);
  claims.issuer = "https://auth.aves.example";
  claims.audience = "aves-data";
  const std::string token = Sign(claims);
  EXPECT_OK(Hs256("https://auth.aves.example", "aves-data").Verify(token, now));
  EXPECT_THAT(Hs256("https://other.example").Verify(token, now),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("iss")));
  EXPECT_THAT(Hs256("", "another-service").Verify(token, now),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("aud")));
  EXPECT_THAT(Hs256("https://auth.aves.example").Verify(Sign(Claims(now)), now),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("iss")));
}

TEST(TokenVerifierTest, RefusesATokenSignedWithAnotherSecretOrAltered) {
  const absl::Time now = absl::Now();
  absl::StatusOr<std::string> forged =
      MintToken(Algorithm::kHs256, std::string(40, 'x'), Claims(now));
  ASSERT_OK(forged);
  EXPECT_THAT(Hs256().Verify(*forged, now),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("does not verify")));
  // The payload swapped for one granting admin, the signature kept.
  const std::vector<std::string> parts = absl::StrSplit(Sign(Claims(now)), '.');
  ASSERT_EQ(parts.size(), 3u);
  const std::string escalated =
      absl::StrCat(parts[0], ".",
                   absl::WebSafeBase64Escape(absl::StrCat(
                       R"({"sub":"loader-7","role":"admin","exp":)",
                       absl::ToUnixSeconds(now) + 3600, "}")),
                   ".", parts[2]);
  EXPECT_THAT(Hs256().Verify(escalated, now),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(TokenVerifierTest, RefusesAlgNoneAndMalformedTokens) {
  const absl::Time now = absl::Now();
  const std::string payload =
      absl::StrCat(R"({"sub":"x","role":"admin","exp":)",
                   absl::ToUnixSeconds(now) + 60, "}");
  EXPECT_THAT(
      Hs256().Verify(Handmade(R"({"alg":"none","typ":"JWT"})", payload), now),
      StatusIs(absl::StatusCode::kUnauthenticated));
  for (const std::string& junk :
       {std::string("not-a-token"), std::string("a.b.c"), std::string(".."),
        std::string("Bearer"), std::string(1, '\0'),
        Handmade("[]", payload, "AAAA"), Handmade("{}", "{}", "AAAA")}) {
    EXPECT_THAT(Hs256().Verify(junk, now),
                StatusIs(absl::StatusCode::kUnauthenticated))
        << junk;
  }
  EXPECT_THAT(Hs256().Verify("", now),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(
      Hs256().Verify(std::string(kMaxTokenBytes + 1, 'a'), now),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("longer")));
}

TEST(TokenVerifierTest, RequiresExpAndASubjectFitForALog) {
  const absl::Time now = absl::Now();
  TokenClaims claims = Claims(now);
  claims.expires = absl::UnixEpoch();  // 0: MintToken writes it; too old
  EXPECT_THAT(Hs256().Verify(Sign(claims), now),
              StatusIs(absl::StatusCode::kUnauthenticated));
  TokenClaims no_subject = Claims(now);
  no_subject.subject = "";
  EXPECT_THAT(Hs256().Verify(Sign(no_subject), now),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("sub")));
  TokenClaims newline = Claims(now);
  newline.subject = "mallory\nINFO forged log line";
  EXPECT_THAT(
      Hs256().Verify(Sign(newline), now),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("control")));
  TokenClaims long_subject = Claims(now);
  long_subject.subject = std::string(kMaxSubjectBytes + 1, 's');
  EXPECT_THAT(Hs256().Verify(Sign(long_subject), now),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("sub")));
}

TEST(TokenVerifierTest, RefusesShortSecretsAndKeysUnfitForTheirAlgorithm) {
  EXPECT_THAT(TokenVerifier::Create(KeyOptions(Algorithm::kHs256, "short")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32")));
  EXPECT_THAT(TokenVerifier::Create(KeyOptions(Algorithm::kRs256, kSecret)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("PEM")));
  const KeyPair small_rsa = MakeKeys("rsa:1024");
  EXPECT_THAT(TokenVerifier::Create(
                  KeyOptions(Algorithm::kRs256, small_rsa.public_pem)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2048")));
  const KeyPair p384 = MakeKeys("ec:secp384r1");
  EXPECT_THAT(
      TokenVerifier::Create(KeyOptions(Algorithm::kEs256, p384.public_pem)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("P-256")));
}

TEST(TokenVerifierTest, VerifiesRs256AndEs256WithPublicKeysOnly) {
  const absl::Time now = absl::Now();
  for (const auto& [algorithm, kind] :
       {std::pair{Algorithm::kRs256, "rsa:2048"},
        std::pair{Algorithm::kEs256, "ec:prime256v1"}}) {
    const KeyPair keys = MakeKeys(kind);
    absl::StatusOr<TokenVerifier> verifier =
        TokenVerifier::Create(KeyOptions(algorithm, keys.public_pem));
    ASSERT_OK(verifier);
    absl::StatusOr<std::string> token =
        MintToken(algorithm, keys.private_pem, Claims(now));
    ASSERT_OK(token);
    EXPECT_THAT(
        verifier->Verify(*token, now),
        IsOkAndHolds(::testing::Field(&VerifiedToken::subject, "loader-7")));
    // Another key pair of the same kind signs nothing this verifier accepts.
    absl::StatusOr<std::string> stranger =
        MintToken(algorithm, MakeKeys(kind).private_pem, Claims(now));
    ASSERT_OK(stranger);
    EXPECT_THAT(verifier->Verify(*stranger, now),
                StatusIs(absl::StatusCode::kUnauthenticated));
    // The classic confusion: HS256 with the (public) key as the secret.
    absl::StatusOr<std::string> confused =
        MintToken(Algorithm::kHs256, keys.public_pem, Claims(now));
    ASSERT_OK(confused);
    EXPECT_THAT(
        verifier->Verify(*confused, now),
        StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expects")));
  }
}

TEST(TokenVerifierTest, ReadsClaimsAsOtherIssuersWriteThem) {
  const absl::Time now = absl::Now();
  const std::string exp = absl::StrCat(absl::ToUnixSeconds(now) + 60);
  auto verify = [&](const std::string& claims) {
    return Hs256().Verify(SignedByHand(R"({"alg":"HS256","typ":"JWT"})",
                                       absl::StrCat("{", claims, "}")),
                          now);
  };
  EXPECT_THAT(
      verify(absl::StrCat(R"("sub":"r","role":"reviewer","exp":)", exp)),
      IsOkAndHolds(
          ::testing::Field(&VerifiedToken::roles, RoleSet{Role::kReviewer})));
  EXPECT_THAT(verify(absl::StrCat(R"("sub":"r","exp":)", exp)),
              IsOkAndHolds(::testing::Field(&VerifiedToken::roles, RoleSet())));
  EXPECT_THAT(verify(absl::StrCat(R"("sub":"r","exp":)", exp, ".5")),
              IsOkAndHolds(::testing::Field(&VerifiedToken::subject, "r")));
  EXPECT_THAT(
      verify(absl::StrCat(R"("sub":"r","aud":["x","aves"],"exp":)", exp)),
      IsOkAndHolds(::testing::Field(&VerifiedToken::subject, "r")));
  EXPECT_THAT(verify(absl::StrCat(R"("sub":"r","role":7,"exp":)", exp)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("role")));
  EXPECT_THAT(
      verify(absl::StrCat(R"("sub":"r","role":["admin",{}],"exp":)", exp)),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("role")));
  EXPECT_THAT(verify(absl::StrCat(R"("sub":"r","exp":")", exp, "\"")),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("exp")));
  EXPECT_THAT(verify(R"("sub":"r","exp":1e300)"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("exp")));
  EXPECT_THAT(verify(R"("sub":"r","role":"admin")"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("exp")));
  EXPECT_THAT(verify(absl::StrCat(R"("sub":42,"exp":)", exp)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("sub")));
  // Signed correctly, but with another algorithm's name in the header.
  EXPECT_THAT(Hs256().Verify(
                  SignedByHand(R"({"alg":"HS512"})",
                               absl::StrCat(R"({"sub":"r","exp":)", exp, "}")),
                  now),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

}  // namespace
}  // namespace aves::auth
