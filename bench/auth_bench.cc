#include "bench/auth_bench.h"

#include <iostream>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>

#include "bench/report.h"
#include "server/auth/authenticator.h"
#include "server/auth/token_verifier.h"
#include "tests/support/subprocess.h"

namespace aves::bench {
namespace {

struct Keys {
  auth::Algorithm algorithm;
  std::string signing;    // secret or private PEM
  std::string verifying;  // secret or public PEM
};

absl::StatusOr<Keys> Es256Keys() {
  const std::string dir = testing::MakeTempDir();
  const std::string key = dir + "/es256.pem";
  const std::string pub = dir + "/es256.pub";
  if (testing::RunCommand({"/usr/bin/openssl", "genpkey", "-algorithm", "EC",
                           "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out",
                           key})
              .exit_code != 0 ||
      testing::RunCommand(
          {"/usr/bin/openssl", "pkey", "-in", key, "-pubout", "-out", pub})
              .exit_code != 0) {
    return absl::InternalError("openssl could not make an ES256 key");
  }
  return Keys{auth::Algorithm::kEs256, testing::ReadFileOrEmpty(key),
              testing::ReadFileOrEmpty(pub)};
}

struct Figures {
  double first_ns = 0;
  double cached_ns = 0;
};

// One run: `count` distinct tokens authenticated once each (first sight),
// then the first of them `count * 50` times (cached).
absl::StatusOr<Figures> Measure(const Keys& keys, int count) {
  auth::AuthOptions options;
  options.token = auth::KeyOptions(keys.algorithm, keys.verifying);
  options.cache_capacity = static_cast<size_t>(count) + 1;
  absl::StatusOr<std::unique_ptr<auth::Authenticator>> authenticator =
      auth::Authenticator::Create(std::move(options));
  if (!authenticator.ok()) return authenticator.status();
  const absl::Time now = absl::Now();
  std::vector<std::string> tokens;
  for (int i = 0; i < count; ++i) {
    auth::TokenClaims claims;
    claims.subject = absl::StrCat("frontend-", i);
    claims.roles = {"frontend"};
    claims.issued_at = now;
    claims.expires = now + absl::Hours(1);
    absl::StatusOr<std::string> token =
        auth::MintToken(keys.algorithm, keys.signing, claims);
    if (!token.ok()) return token.status();
    tokens.push_back(*std::move(token));
  }
  const std::vector<std::string> no_certificate;
  Figures figures;
  absl::Time start = absl::Now();
  for (const std::string& token : tokens) {
    if (!(*authenticator)->Authenticate(token, no_certificate, now).ok())
      return absl::InternalError("a minted token did not verify");
  }
  figures.first_ns = absl::ToDoubleNanoseconds(absl::Now() - start) / count;
  const int repeats = count * 50;
  start = absl::Now();
  for (int i = 0; i < repeats; ++i) {
    if (!(*authenticator)->Authenticate(tokens[0], no_certificate, now).ok())
      return absl::InternalError("a cached token did not verify");
  }
  figures.cached_ns = absl::ToDoubleNanoseconds(absl::Now() - start) / repeats;
  return figures;
}

}  // namespace

absl::Status RunAuthBench(const AuthBenchOptions& options) {
  absl::StatusOr<Keys> es256 = Es256Keys();
  if (!es256.ok()) return es256.status();
  const std::vector<Keys> all = {
      {auth::Algorithm::kHs256, std::string(48, 's'), std::string(48, 's')},
      *es256};
  Report report("auth");
  std::vector<std::vector<std::string>> table = {
      {"algorithm", "first sight ns/call", "cached ns/call", "cached/first"}};
  for (const Keys& keys : all) {
    std::vector<double> first, cached, ratios;
    for (int run = 0; run < options.runs; ++run) {
      absl::StatusOr<Figures> figures = Measure(keys, options.tokens);
      if (!figures.ok()) return figures.status();
      first.push_back(figures->first_ns);
      cached.push_back(figures->cached_ns);
      ratios.push_back(figures->cached_ns / figures->first_ns);
    }
    const std::string name(auth::AlgorithmName(keys.algorithm));
    const double first_ns = Median(first);
    const double cached_ns = Median(cached);
    const double ratio = Median(ratios);
    report.Add(absl::StrCat(name, "_first_ns"), first_ns, "ns");
    report.Add(absl::StrCat(name, "_cached_ns"), cached_ns, "ns");
    report.AddRatio(absl::StrCat(name, "_cached_vs_first"), ratio);
    table.push_back({name, FormatNumber(first_ns), FormatNumber(cached_ns),
                     FormatNumber(ratio)});
  }
  report.Add("runs_per_median", options.runs, "runs");
  report.Add("tokens_per_run", options.tokens, "tokens");
  report.SetTable(std::move(table));
  report.AddNote(
      "first sight: signature and claims checked (libjwt + jansson); cached: "
      "a hash lookup under a reader lock, until the token's exp");
  report.Print(std::cout, options.json);
  return absl::OkStatus();
}

}  // namespace aves::bench
