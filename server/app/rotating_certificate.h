// RotatingCertificate: the HTTP listener's certificate chain and key, read
// again when their files change (checked on a handshake at most every
// AVES_TLS_RELOAD_MS), so a certificate rotated on disk reaches new HTTPS
// connections as it reaches new gRPC ones (where gRPC's
// FileWatcherCertificateProvider does the same). A pair that does not load,
// or whose key is not the certificate's (a rotation caught half-way), keeps
// the previous one in service and is tried again at the next check.
#ifndef AVES_SERVER_APP_ROTATING_CERTIFICATE_H_
#define AVES_SERVER_APP_ROTATING_CERTIFICATE_H_

#include <memory>
#include <string>

#include <absl/base/thread_annotations.h>
#include <absl/status/statusor.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>
#include <openssl/ssl.h>

namespace aves::app {

class RotatingCertificate {
 public:
  // Fails (naming the file) when the first pair does not load.
  static absl::StatusOr<std::unique_ptr<RotatingCertificate>> Load(
      std::string cert_file, std::string key_file, absl::Duration interval);
  ~RotatingCertificate();

  // Configures `ctx` (TLS 1.2 and up) to present the current pair on each
  // new connection. `this` must outlive `ctx`.
  bool SetUp(SSL_CTX& ctx);

  // A loaded chain and key (opaque here).
  struct Pair;

 private:
  RotatingCertificate(std::string cert_file, std::string key_file,
                      absl::Duration interval);
  // The files' pair when they changed and load; the error otherwise (null
  // and OK: unchanged).
  absl::StatusOr<std::shared_ptr<const Pair>> ReadIfChanged()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  std::shared_ptr<const Pair> Current();
  static int OnHandshake(SSL* ssl, void* self);

  const std::string cert_file_, key_file_;
  const absl::Duration interval_;
  absl::Mutex mutex_;
  std::shared_ptr<const Pair> current_ ABSL_GUARDED_BY(mutex_);
  std::string loaded_text_ ABSL_GUARDED_BY(mutex_);  // cert + key as read
  absl::Time next_check_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace aves::app

#endif  // AVES_SERVER_APP_ROTATING_CERTIFICATE_H_
