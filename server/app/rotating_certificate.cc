#include "server/app/rotating_certificate.h"

#include <fstream>
#include <sstream>
#include <utility>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "server/observability/logging.h"

namespace aves::app {

struct RotatingCertificate::Pair {
  X509* leaf = nullptr;
  STACK_OF(X509) * chain = nullptr;  // intermediates after the leaf
  EVP_PKEY* key = nullptr;
  ~Pair() {
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
  }
};

namespace {

bool ReadFile(const std::string& path, std::string* text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream out;
  out << in.rdbuf();
  *text = out.str();
  return true;
}

// Parses a PEM chain and key; the error names which file failed.
absl::StatusOr<std::shared_ptr<const RotatingCertificate::Pair>> ParsePair(
    const std::string& cert_pem, const std::string& key_pem,
    const std::string& cert_file, const std::string& key_file) {
  auto pair = std::make_shared<RotatingCertificate::Pair>();
  BIO* certs =
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  pair->leaf = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr);
  pair->chain = sk_X509_new_null();
  while (X509* next = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr)) {
    sk_X509_push(pair->chain, next);
  }
  BIO_free(certs);
  BIO* key = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  pair->key = PEM_read_bio_PrivateKey(key, nullptr, nullptr, nullptr);
  BIO_free(key);
  ERR_clear_error();  // the end of the chain reads as an error
  if (pair->leaf == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("no PEM certificate in ", cert_file));
  }
  if (pair->key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("no PEM private key in ", key_file));
  }
  if (X509_check_private_key(pair->leaf, pair->key) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "the key in ", key_file, " is not the certificate's in ", cert_file));
  }
  return std::shared_ptr<const RotatingCertificate::Pair>(std::move(pair));
}
}  // namespace

RotatingCertificate::RotatingCertificate(std::string cert_file,
                                         std::string key_file,
                                         absl::Duration interval)
    : cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      interval_(interval) {}

RotatingCertificate::~RotatingCertificate() = default;

absl::StatusOr<std::unique_ptr<RotatingCertificate>> RotatingCertificate::Load(
    std::string cert_file, std::string key_file, absl::Duration interval) {
  std::unique_ptr<RotatingCertificate> certificate(new RotatingCertificate(
      std::move(cert_file), std::move(key_file), interval));
  absl::MutexLock lock(&certificate->mutex_);
  absl::StatusOr<std::shared_ptr<const Pair>> pair =
      certificate->ReadIfChanged();
  if (!pair.ok()) return pair.status();
  certificate->current_ = *std::move(pair);
  certificate->next_check_ = absl::Now() + interval;
  return certificate;
}

absl::StatusOr<std::shared_ptr<const RotatingCertificate::Pair>>
RotatingCertificate::ReadIfChanged() {
  std::string cert_pem, key_pem;
  if (!ReadFile(cert_file_, &cert_pem)) {
    return absl::NotFoundError(absl::StrCat("cannot read ", cert_file_));
  }
  if (!ReadFile(key_file_, &key_pem)) {
    return absl::NotFoundError(absl::StrCat("cannot read ", key_file_));
  }
  std::string text = cert_pem + key_pem;
  if (current_ != nullptr && text == loaded_text_) {
    return std::shared_ptr<const Pair>();
  }
  absl::StatusOr<std::shared_ptr<const Pair>> pair =
      ParsePair(cert_pem, key_pem, cert_file_, key_file_);
  if (pair.ok()) loaded_text_ = std::move(text);
  return pair;
}

std::shared_ptr<const RotatingCertificate::Pair>
RotatingCertificate::Current() {
  absl::MutexLock lock(&mutex_);
  const absl::Time now = absl::Now();
  if (now >= next_check_) {
    next_check_ = now + interval_;
    absl::StatusOr<std::shared_ptr<const Pair>> pair = ReadIfChanged();
    if (!pair.ok()) {
      observability::Logger("http")->warn(
          "keeping the HTTP listener's certificate: {}",
          std::string(pair.status().message()));
    } else if (*pair != nullptr) {
      current_ = *std::move(pair);
      observability::Logger("http")->info(
          "the HTTP listener serves the renewed certificate of {}", cert_file_);
    }
  }
  return current_;
}

int RotatingCertificate::OnHandshake(SSL* ssl, void* self) {
  const std::shared_ptr<const Pair> pair =
      static_cast<RotatingCertificate*>(self)->Current();
  // The SSL takes references of its own.
  return SSL_use_cert_and_key(ssl, pair->leaf, pair->key, pair->chain, 1) == 1
             ? 1
             : 0;
}

bool RotatingCertificate::SetUp(SSL_CTX& ctx) {
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION |
                                SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
  if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1) return false;
  SSL_CTX_set_cert_cb(&ctx, &RotatingCertificate::OnHandshake, this);
  return true;
}

}  // namespace aves::app
