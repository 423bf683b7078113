#include "server/auth/authenticator.h"

#include <absl/strings/str_cat.h>

namespace aves::auth {

absl::StatusOr<std::unique_ptr<Authenticator>> Authenticator::Create(
    AuthOptions options) {
  std::optional<TokenVerifier> verifier;
  if (options.token.has_value()) {
    absl::StatusOr<TokenVerifier> created =
        TokenVerifier::Create(*std::move(options.token));
    if (!created.ok()) return created.status();
    verifier.emplace(*std::move(created));
  }
  std::map<std::string, std::shared_ptr<const Caller>> certificate_callers;
  for (const auto& [common_name, roles] : options.certificate_roles) {
    if (common_name.empty() || roles.empty()) {
      return absl::InvalidArgumentError(
          "a certificate mapping needs a common name and at least one role");
    }
    certificate_callers.emplace(
        common_name,
        std::make_shared<const Caller>(
            Caller{absl::StrCat("cn:", common_name), roles, "certificate"}));
  }
  if (!verifier.has_value() && certificate_callers.empty()) {
    return absl::InvalidArgumentError(
        "authentication needs a token key or certificate mappings");
  }
  if (options.cache_capacity == 0 || options.cache_max_bytes < kMaxTokenBytes) {
    return absl::InvalidArgumentError("the token cache needs room for one");
  }
  return std::unique_ptr<Authenticator>(
      new Authenticator(std::move(verifier), std::move(certificate_callers),
                        options.cache_capacity, options.cache_max_bytes));
}

absl::StatusOr<std::shared_ptr<const Caller>> Authenticator::Authenticate(
    absl::string_view bearer_token,
    const std::vector<std::string>& common_names, absl::Time now) const {
  if (!bearer_token.empty()) {
    if (!verifier_.has_value()) {
      return absl::UnauthenticatedError(
          "bearer token: avesd accepts none (no AVES_AUTH_JWT_KEY_FILE); "
          "authenticate with a client certificate");
    }
    return AuthenticateToken(bearer_token, now);
  }
  for (const std::string& common_name : common_names) {
    if (auto it = certificate_callers_.find(common_name);
        it != certificate_callers_.end()) {
      return it->second;
    }
  }
  if (!common_names.empty()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "client certificate '", common_names.front(),
        "' holds no role (AVES_AUTH_CERT_ROLES) and no bearer token was sent"));
  }
  return absl::UnauthenticatedError(
      verifier_.has_value()
          ? "no credentials: send 'authorization: Bearer <token>'"
          : "no credentials: present a client certificate");
}

absl::StatusOr<std::shared_ptr<const Caller>> Authenticator::AuthenticateToken(
    absl::string_view token, absl::Time now) const {
  {
    absl::ReaderMutexLock lock(&mutex_);
    if (auto it = cache_.find(token); it != cache_.end()) {
      // An expired entry answers as a fresh verification would.
      if (now <= it->second.valid_until) return it->second.caller;
      return absl::UnauthenticatedError("bearer token: expired");
    }
  }
  absl::StatusOr<VerifiedToken> verified = verifier_->Verify(token, now);
  if (!verified.ok()) return verified.status();
  auto caller = std::make_shared<const Caller>(
      Caller{std::move(verified->subject), verified->roles, "token"});
  absl::MutexLock lock(&mutex_);
  const auto full = [&] {
    return cache_.size() >= cache_capacity_ ||
           cached_bytes_ + token.size() > cache_max_bytes_;
  };
  if (full()) {
    absl::erase_if(cache_, [&](const auto& entry) {
      if (now <= entry.second.valid_until) return false;
      cached_bytes_ -= entry.first.size();
      return true;
    });
    if (full()) {
      cache_.clear();
      cached_bytes_ = 0;
    }
  }
  if (cache_
          .emplace(std::string(token),
                   CachedToken{caller, verified->valid_until})
          .second) {
    cached_bytes_ += token.size();
  }
  return caller;
}

size_t Authenticator::cached_token_bytes() const {
  absl::ReaderMutexLock lock(&mutex_);
  return cached_bytes_;
}

size_t Authenticator::cached_tokens() const {
  absl::ReaderMutexLock lock(&mutex_);
  return cache_.size();
}

}  // namespace aves::auth
