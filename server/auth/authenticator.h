// Who is calling: a verified bearer token, or a client certificate the TLS
// handshake verified whose subject's common name is mapped to roles
// (AVES_AUTH_CERT_ROLES). A token, when sent, decides: a caller holding a
// mapped certificate can still act under a narrower token.
//
// Verified tokens are cached until they expire, so a caller sending the same
// token on every call pays for one signature check (bench/auth_bench.cc
// measures both). The cache is bounded in entries and in bytes: when full,
// expired entries go, and if that is not enough, all of them (the next calls
// verify again).
#ifndef AVES_SERVER_AUTH_AUTHENTICATOR_H_
#define AVES_SERVER_AUTH_AUTHENTICATOR_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/container/flat_hash_map.h>
#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>

#include "server/auth/roles.h"
#include "server/auth/token_verifier.h"

namespace aves::auth {

struct Caller {
  // The token's `sub`, or "cn:<common name>" for a certificate.
  std::string subject;
  RoleSet roles;
  // How the caller proved it: "token" or "certificate".
  const char* via;
};

struct AuthOptions {
  // Bearer tokens are accepted when set.
  std::optional<VerifierOptions> token;
  // Client-certificate common names and the roles each holds.
  std::map<std::string, RoleSet> certificate_roles;
  // Verified tokens remembered at most, and their bytes at most (a token
  // may be 8 KiB: the count alone would allow 80 MiB).
  size_t cache_capacity = 10'000;
  size_t cache_max_bytes = 4 << 20;
};

class Authenticator {
 public:
  // INVALID_ARGUMENT when the token key does not suit its algorithm, or
  // when neither tokens nor certificates are configured.
  static absl::StatusOr<std::unique_ptr<Authenticator>> Create(
      AuthOptions options);

  // The caller of a call that sent `bearer_token` (empty: none) over a
  // connection whose verified client certificate has `common_names` (empty:
  // none or no TLS). UNAUTHENTICATED when neither proves who it is.
  absl::StatusOr<std::shared_ptr<const Caller>> Authenticate(
      absl::string_view bearer_token,
      const std::vector<std::string>& common_names, absl::Time now) const;

  bool accepts_tokens() const { return verifier_.has_value(); }
  bool accepts_certificates() const { return !certificate_callers_.empty(); }
  size_t cached_tokens() const;
  size_t cached_token_bytes() const;

 private:
  struct CachedToken {
    std::shared_ptr<const Caller> caller;
    absl::Time valid_until;
  };

  Authenticator(
      std::optional<TokenVerifier> verifier,
      std::map<std::string, std::shared_ptr<const Caller>> certificate_callers,
      size_t cache_capacity, size_t cache_max_bytes)
      : verifier_(std::move(verifier)),
        certificate_callers_(std::move(certificate_callers)),
        cache_capacity_(cache_capacity),
        cache_max_bytes_(cache_max_bytes) {}

  absl::StatusOr<std::shared_ptr<const Caller>> AuthenticateToken(
      absl::string_view token, absl::Time now) const;

  const std::optional<TokenVerifier> verifier_;
  const std::map<std::string, std::shared_ptr<const Caller>>
      certificate_callers_;
  const size_t cache_capacity_;
  const size_t cache_max_bytes_;
  mutable absl::Mutex mutex_;
  mutable absl::flat_hash_map<std::string, CachedToken> cache_
      ABSL_GUARDED_BY(mutex_);
  mutable size_t cached_bytes_ ABSL_GUARDED_BY(mutex_) = 0;  // of the keys
};

}  // namespace aves::auth

#endif  // AVES_SERVER_AUTH_AUTHENTICATOR_H_
