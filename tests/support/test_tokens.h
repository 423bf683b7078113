// Bearer tokens for tests: HS256, signed with one test secret that the
// tests also write into avesd's AVES_AUTH_JWT_KEY_FILE.
#ifndef AVES_TESTS_SUPPORT_TEST_TOKENS_H_
#define AVES_TESTS_SUPPORT_TEST_TOKENS_H_

#include <string>
#include <vector>

#include <absl/time/time.h>

namespace aves::testing {

inline constexpr char kTestTokenSecret[] =
    "an-hs256-secret-of-more-than-32-bytes-for-tests";

// A token naming `subject` with `roles`, valid from now for `ttl`; "" (and a
// test failure) if it cannot be signed.
std::string TestToken(const std::string& subject,
                      std::vector<std::string> roles,
                      absl::Duration ttl = absl::Minutes(10));

}  // namespace aves::testing

#endif  // AVES_TESTS_SUPPORT_TEST_TOKENS_H_
