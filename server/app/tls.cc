#include "server/app/tls.h"

#include <fstream>
#include <sstream>
#include <string>

#include <absl/strings/str_cat.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace aves::app {
namespace {

absl::StatusOr<std::string> ReadPem(const char* setting,
                                    const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  if (file) text << file.rdbuf();
  if (!file || text.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, ": cannot read ", path));
  }
  return text.str();
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

Bio BioOf(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The certificate chain's first certificate and the key belong together.
absl::Status CheckIdentity(const config::Config& config) {
  absl::StatusOr<std::string> cert_pem =
      ReadPem("AVES_TLS_CERT_FILE", config.tls_cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem =
      ReadPem("AVES_TLS_KEY_FILE", config.tls_key_file);
  if (!key_pem.ok()) return key_pem.status();
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(BioOf(*cert_pem).get(), nullptr, nullptr, nullptr));
  std::unique_ptr<EVP_PKEY, KeyFree> key(PEM_read_bio_PrivateKey(
      BioOf(*key_pem).get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("AVES_TLS_CERT_FILE: ", config.tls_cert_file,
                     " holds no PEM certificate"));
  }
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AVES_TLS_KEY_FILE: ", config.tls_key_file,
        " holds no PEM private key (an encrypted key is not supported)"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "AVES_TLS_KEY_FILE: ", config.tls_key_file,
        " is not the key of the certificate in ", config.tls_cert_file));
  }
  return absl::OkStatus();
}

absl::Status CheckClientCa(const config::Config& config) {
  absl::StatusOr<std::string> pem =
      ReadPem("AVES_TLS_CLIENT_CA_FILE", config.tls_client_ca_file);
  if (!pem.ok()) return pem.status();
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(BioOf(*pem).get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("AVES_TLS_CLIENT_CA_FILE: ", config.tls_client_ca_file,
                     " holds no PEM certificate"));
  }
  return absl::OkStatus();
}

grpc_ssl_client_certificate_request_type RequestType(
    config::Config::ClientAuth auth) {
  switch (auth) {
    case config::Config::ClientAuth::kNone:
      return GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
    case config::Config::ClientAuth::kRequest:
      return GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
    case config::Config::ClientAuth::kRequire:
      return GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ListenerCredentials(
    const config::Config& config) {
  if (!config.tls()) return grpc::InsecureServerCredentials();
  if (absl::Status identity = CheckIdentity(config); !identity.ok()) {
    return identity;
  }
  const bool verify_clients = !config.tls_client_ca_file.empty();
  if (verify_clients) {
    if (absl::Status ca = CheckClientCa(config); !ca.ok()) return ca;
  }
  const auto reload = static_cast<unsigned int>(
      absl::ToInt64Seconds(config.tls_reload_interval));
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          config.tls_key_file, config.tls_cert_file,
          verify_clients ? config.tls_client_ca_file : std::string(), reload);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (verify_clients) options.watch_root_certs();
  options.set_cert_request_type(RequestType(config.tls_client_auth));
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace aves::app
