// The few cryptographic primitives the service uses, over OpenSSL, in one
// place: digests for checksums and names, HMAC for page tokens, random bytes
// for keys and ids.
#ifndef AVES_SERVER_COMMON_CRYPTO_H_
#define AVES_SERVER_COMMON_CRYPTO_H_

#include <cstddef>
#include <string>

#include <absl/strings/string_view.h>

namespace aves::common {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(absl::string_view data);

// HMAC-SHA256 of `data` under `key` (32 raw bytes).
std::string HmacSha256(absl::string_view key, absl::string_view data);

// True when `a` and `b` are equal, in time independent of where they differ.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// `count` bytes from OpenSSL's CSPRNG.
std::string RandomBytes(size_t count);

// A random UUID (version 4), lower-case canonical form.
std::string RandomUuid();

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_CRYPTO_H_
