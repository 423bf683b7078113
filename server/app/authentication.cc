#include "server/app/authentication.h"

#include <absl/strings/str_cat.h>

#include "server/common/setting_file.h"

namespace aves::app {

absl::StatusOr<std::string> ReadTokenKey(const config::Config& config) {
  absl::StatusOr<std::string> key = common::ReadSettingFile(
      "AVES_AUTH_JWT_KEY_FILE", config.auth_jwt_key_file, 64 << 10, "one key");
  if (!key.ok()) return key.status();
  if (config.auth_jwt_algorithm == auth::Algorithm::kHs256) {
    while (!key->empty() && (key->back() == '\n' || key->back() == '\r'))
      key->pop_back();
  }
  return key;
}

absl::StatusOr<std::unique_ptr<auth::Authenticator>> BuildAuthenticator(
    const config::Config& config) {
  if (!config.auth()) return std::unique_ptr<auth::Authenticator>();
  auth::AuthOptions options;
  if (!config.auth_jwt_key_file.empty()) {
    absl::StatusOr<std::string> key = ReadTokenKey(config);
    if (!key.ok()) return key.status();
    options.token = auth::VerifierOptions{
        config.auth_jwt_algorithm, *std::move(key), config.auth_issuer,
        config.auth_audience, config.auth_leeway};
  }
  options.certificate_roles = config.auth_certificate_roles;
  absl::StatusOr<std::unique_ptr<auth::Authenticator>> authenticator =
      auth::Authenticator::Create(std::move(options));
  if (!authenticator.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AVES_AUTH_JWT_KEY_FILE: ", authenticator.status().message()));
  }
  return authenticator;
}

}  // namespace aves::app
