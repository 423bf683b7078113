// The authenticator avesd's configuration asks for: the token key read from
// AVES_AUTH_JWT_KEY_FILE and checked, the certificate mappings. Like the TLS
// files, a mistake stops avesd at start-up naming the setting.
#ifndef AVES_SERVER_APP_AUTHENTICATION_H_
#define AVES_SERVER_APP_AUTHENTICATION_H_

#include <memory>
#include <string>

#include <absl/status/statusor.h>

#include "server/auth/authenticator.h"
#include "server/config/config.h"

namespace aves::app {

// Null when authentication is off (config.auth() false).
absl::StatusOr<std::unique_ptr<auth::Authenticator>> BuildAuthenticator(
    const config::Config& config);

// The key in AVES_AUTH_JWT_KEY_FILE: an HS256 secret without the trailing
// line break an editor or `openssl rand -base64` adds, or a PEM as is.
// Never echoes the contents.
absl::StatusOr<std::string> ReadTokenKey(const config::Config& config);

}  // namespace aves::app

#endif  // AVES_SERVER_APP_AUTHENTICATION_H_
