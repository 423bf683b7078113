#include "server/auth/token_verifier.h"

#include <jansson.h>
#include <jwt.h>

#include <cmath>
#include <cstdlib>
#include <memory>

#include <absl/strings/ascii.h>
#include <absl/strings/str_cat.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace aves::auth {
namespace {

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
struct JsonFree {
  void operator()(json_t* json) const { json_decref(json); }
};
struct MallocFree {
  void operator()(char* text) const { std::free(text); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;
using JsonPtr = std::unique_ptr<json_t, JsonFree>;
using MallocPtr = std::unique_ptr<char, MallocFree>;

jwt_alg_t LibjwtAlgorithm(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kHs256:
      return JWT_ALG_HS256;
    case Algorithm::kRs256:
      return JWT_ALG_RS256;
    case Algorithm::kEs256:
      return JWT_ALG_ES256;
  }
  return JWT_ALG_INVAL;
}

absl::Status Refused(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("bearer token: ", why));
}

// The PEM public or private key in `pem`, or null.
std::unique_ptr<EVP_PKEY, PkeyFree> ReadPemKey(absl::string_view pem,
                                               bool is_private) {
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return nullptr;
  return std::unique_ptr<EVP_PKEY, PkeyFree>(
      is_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                 : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

// INVALID_ARGUMENT unless `pem` holds a key `algorithm` can use safely.
absl::Status CheckAsymmetricKey(Algorithm algorithm, absl::string_view pem,
                                bool is_private) {
  const absl::string_view kind = is_private ? "private" : "public";
  auto key = ReadPemKey(pem, is_private);
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(AlgorithmName(algorithm),
                                                   " wants a PEM ", kind,
                                                   " key; this is not one"));
  }
  const int type = EVP_PKEY_get_base_id(key.get());
  if (algorithm == Algorithm::kRs256) {
    if (type != EVP_PKEY_RSA) {
      return absl::InvalidArgumentError("RS256 wants an RSA key");
    }
    if (EVP_PKEY_get_bits(key.get()) < 2048) {
      return absl::InvalidArgumentError(
          absl::StrCat("RS256 wants an RSA key of at least 2048 bits, not ",
                       EVP_PKEY_get_bits(key.get())));
    }
    return absl::OkStatus();
  }
  char group[64] = {};
  size_t group_length = 0;
  if (type != EVP_PKEY_EC ||
      EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &group_length) !=
          1 ||
      absl::string_view(group, group_length) != "prime256v1") {
    return absl::InvalidArgumentError("ES256 wants an EC key on P-256");
  }
  return absl::OkStatus();
}

absl::Status CheckKey(Algorithm algorithm, absl::string_view key,
                      bool is_private) {
  if (algorithm == Algorithm::kHs256) {
    if (key.size() < kMinHmacSecretBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("an HS256 secret needs at least ", kMinHmacSecretBytes,
                       " bytes, this one has ", key.size()));
    }
    return absl::OkStatus();
  }
  return CheckAsymmetricKey(algorithm, key, is_private);
}

// A NumericDate claim (seconds since the epoch; RFC 7519 2) as a time.
absl::StatusOr<std::optional<absl::Time>> TimeClaim(json_t* claims,
                                                    const char* name) {
  json_t* value = json_object_get(claims, name);
  if (value == nullptr) return std::optional<absl::Time>();
  if (!json_is_number(value)) {
    return Refused(absl::StrCat("'", name, "' is not a number"));
  }
  const double seconds = json_number_value(value);
  // Year 0 to 9999: anything else is not a date an issuer meant.
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 253402300799.0) {
    return Refused(absl::StrCat("'", name, "' is not a date"));
  }
  return std::optional<absl::Time>(
      absl::FromUnixMillis(static_cast<int64_t>(seconds * 1000)));
}

// True when `claim` is `wanted` or an array holding it.
bool Holds(json_t* claim, absl::string_view wanted) {
  if (json_is_string(claim)) return json_string_value(claim) == wanted;
  if (!json_is_array(claim)) return false;
  for (size_t i = 0; i < json_array_size(claim); ++i) {
    json_t* item = json_array_get(claim, i);
    if (json_is_string(item) && json_string_value(item) == wanted) return true;
  }
  return false;
}

absl::StatusOr<RoleSet> RolesClaim(json_t* claims) {
  json_t* claim = json_object_get(claims, "role");
  RoleSet roles;
  if (claim == nullptr) return roles;
  auto add = [&roles](json_t* name) -> absl::Status {
    if (!json_is_string(name)) {
      return Refused("'role' holds something that is not a name");
    }
    if (absl::StatusOr<Role> role = RoleNamed(json_string_value(name));
        role.ok()) {
      roles.Add(*role);
    }
    return absl::OkStatus();
  };
  if (json_is_array(claim)) {
    for (size_t i = 0; i < json_array_size(claim); ++i) {
      if (absl::Status status = add(json_array_get(claim, i)); !status.ok())
        return status;
    }
    return roles;
  }
  if (absl::Status status = add(claim); !status.ok()) return status;
  return roles;
}

absl::StatusOr<std::string> SubjectClaim(json_t* claims) {
  json_t* claim = json_object_get(claims, "sub");
  if (!json_is_string(claim)) return Refused("no 'sub' naming the caller");
  const absl::string_view subject(json_string_value(claim),
                                  json_string_length(claim));
  if (subject.empty() || subject.size() > kMaxSubjectBytes) {
    return Refused(
        absl::StrCat("'sub' must be 1 to ", kMaxSubjectBytes, " bytes"));
  }
  for (unsigned char c : subject) {
    // Logged and stored as is: no line breaks or terminal escapes.
    if (c < 0x20 || c == 0x7f)
      return Refused("'sub' holds a control character");
  }
  return std::string(subject);
}

}  // namespace

absl::string_view AlgorithmName(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kHs256:
      return "HS256";
    case Algorithm::kRs256:
      return "RS256";
    case Algorithm::kEs256:
      return "ES256";
  }
  return "unknown";
}

absl::StatusOr<Algorithm> AlgorithmNamed(absl::string_view name) {
  for (Algorithm algorithm :
       {Algorithm::kHs256, Algorithm::kRs256, Algorithm::kEs256}) {
    if (AlgorithmName(algorithm) == name) return algorithm;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", name, "' is not HS256, RS256 or ES256"));
}

absl::StatusOr<TokenVerifier> TokenVerifier::Create(VerifierOptions options) {
  if (absl::Status status =
          CheckKey(options.algorithm, options.key, /*is_private=*/false);
      !status.ok()) {
    return status;
  }
  if (options.leeway < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the leeway cannot be negative");
  }
  return TokenVerifier(std::move(options));
}

absl::StatusOr<VerifiedToken> TokenVerifier::Verify(absl::string_view token,
                                                    absl::Time now) const {
  if (token.empty()) return Refused("empty");
  if (token.size() > kMaxTokenBytes) {
    return Refused(absl::StrCat("longer than ", kMaxTokenBytes, " bytes"));
  }
  if (token.find('\0') != absl::string_view::npos) {
    return Refused("malformed");
  }
  const std::string terminated(token);
  jwt_t* raw = nullptr;
  const int failed =
      jwt_decode(&raw, terminated.c_str(),
                 reinterpret_cast<const unsigned char*>(options_.key.data()),
                 static_cast<int>(options_.key.size()));
  JwtPtr jwt(raw);
  if (failed != 0 || jwt == nullptr) {
    return Refused("malformed, or its signature does not verify");
  }
  // libjwt verified with whatever algorithm the token names: a token signed
  // with HS256 using our RS256 public key as the secret verifies too. Only
  // the configured algorithm counts.
  if (jwt_get_alg(jwt.get()) != LibjwtAlgorithm(options_.algorithm)) {
    return Refused(
        absl::StrCat("signed with ", jwt_alg_str(jwt_get_alg(jwt.get())),
                     ", avesd expects ", AlgorithmName(options_.algorithm)));
  }
  MallocPtr claims_text(jwt_get_grants_json(jwt.get(), nullptr));
  if (claims_text == nullptr) return Refused("no claims");
  json_error_t error;
  JsonPtr claims(json_loads(claims_text.get(), 0, &error));
  if (!json_is_object(claims.get())) return Refused("claims are not an object");

  absl::StatusOr<std::optional<absl::Time>> expires =
      TimeClaim(claims.get(), "exp");
  if (!expires.ok()) return expires.status();
  if (!expires->has_value()) return Refused("no 'exp': tokens must expire");
  if (now > **expires + options_.leeway) return Refused("expired");
  absl::StatusOr<std::optional<absl::Time>> not_before =
      TimeClaim(claims.get(), "nbf");
  if (!not_before.ok()) return not_before.status();
  if (not_before->has_value() && now + options_.leeway < **not_before) {
    return Refused("not valid yet ('nbf' is in the future)");
  }
  if (!options_.issuer.empty()) {
    json_t* issuer = json_object_get(claims.get(), "iss");
    if (!json_is_string(issuer) ||
        json_string_value(issuer) != options_.issuer) {
      return Refused("'iss' is not the configured issuer");
    }
  }
  if (!options_.audience.empty() &&
      !Holds(json_object_get(claims.get(), "aud"), options_.audience)) {
    return Refused("'aud' does not name this service");
  }
  absl::StatusOr<std::string> subject = SubjectClaim(claims.get());
  if (!subject.ok()) return subject.status();
  absl::StatusOr<RoleSet> roles = RolesClaim(claims.get());
  if (!roles.ok()) return roles.status();
  return VerifiedToken{*std::move(subject), *roles,
                       **expires + options_.leeway};
}

absl::StatusOr<std::string> MintToken(Algorithm algorithm,
                                      absl::string_view signing_key,
                                      const TokenClaims& claims) {
  if (absl::Status status =
          CheckKey(algorithm, signing_key, /*is_private=*/true);
      !status.ok()) {
    return status;
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::InternalError("jwt_new failed");
  JwtPtr jwt(raw);
  JsonPtr grants(json_object());
  JsonPtr roles(json_array());
  for (const std::string& role : claims.roles) {
    json_array_append_new(roles.get(), json_string(role.c_str()));
  }
  json_object_set_new(grants.get(), "sub", json_string(claims.subject.c_str()));
  json_object_set(grants.get(), "role", roles.get());
  json_object_set_new(grants.get(), "iat",
                      json_integer(absl::ToUnixSeconds(claims.issued_at)));
  json_object_set_new(grants.get(), "exp",
                      json_integer(absl::ToUnixSeconds(claims.expires)));
  if (claims.not_before.has_value()) {
    json_object_set_new(grants.get(), "nbf",
                        json_integer(absl::ToUnixSeconds(*claims.not_before)));
  }
  if (!claims.issuer.empty()) {
    json_object_set_new(grants.get(), "iss",
                        json_string(claims.issuer.c_str()));
  }
  if (!claims.audience.empty()) {
    json_object_set_new(grants.get(), "aud",
                        json_string(claims.audience.c_str()));
  }
  MallocPtr grants_text(json_dumps(grants.get(), JSON_COMPACT));
  if (grants_text == nullptr ||
      jwt_add_grants_json(jwt.get(), grants_text.get()) != 0) {
    return absl::InvalidArgumentError(
        "the claims do not encode (is every string UTF-8?)");
  }
  if (jwt_set_alg(jwt.get(), LibjwtAlgorithm(algorithm),
                  reinterpret_cast<const unsigned char*>(signing_key.data()),
                  static_cast<int>(signing_key.size())) != 0) {
    return absl::InternalError("jwt_set_alg failed");
  }
  MallocPtr token(jwt_encode_str(jwt.get()));
  if (token == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot sign with this ", AlgorithmName(algorithm), " key"));
  }
  return std::string(token.get());
}

}  // namespace aves::auth
