// The gRPC listener's credentials: plaintext, or TLS from the configured PEM
// files through gRPC's FileWatcherCertificateProvider, which re-reads them
// every AVES_TLS_RELOAD_MS: a rotated certificate reaches new connections
// without a restart, and open connections keep the one they began with.
#ifndef AVES_SERVER_APP_TLS_H_
#define AVES_SERVER_APP_TLS_H_

#include <memory>

#include <absl/status/statusor.h>
#include <grpcpp/security/server_credentials.h>

#include "server/config/config.h"

namespace aves::app {

// The files are checked first (readable PEM, the key matching the
// certificate, at least one CA certificate), so a mistake stops avesd at
// start-up with the setting's name instead of failing every handshake.
// Never echoes a key's contents.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ListenerCredentials(
    const config::Config& config);

}  // namespace aves::app

#endif  // AVES_SERVER_APP_TLS_H_
