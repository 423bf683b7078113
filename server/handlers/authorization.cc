#include "server/handlers/authorization.h"

#include <vector>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <grpcpp/security/auth_context.h>

#include "server/auth/policy.h"
#include "server/common/retry_delay.h"
#include "server/handlers/access_log.h"
#include "server/handlers/grpc_status.h"

namespace aves::handlers {
namespace {

constexpr char kAuthorizationHeader[] = "authorization";
constexpr absl::string_view kBearerScheme = "bearer ";

// The token of the call's `authorization: Bearer <token>` header; empty when
// there is none; UNAUTHENTICATED for anything else in that header.
absl::StatusOr<absl::string_view> BearerToken(
    grpc::ServerContextBase* context) {
  const auto& metadata = context->client_metadata();
  auto [begin, end] = metadata.equal_range(kAuthorizationHeader);
  if (begin == end) return absl::string_view();
  if (std::next(begin) != end) {
    return absl::UnauthenticatedError(
        "more than one 'authorization' header: send one bearer token");
  }
  const absl::string_view value(begin->second.data(), begin->second.size());
  // RFC 6750 2.1: the scheme is case-insensitive.
  if (value.size() <= kBearerScheme.size() ||
      !absl::StartsWithIgnoreCase(value, kBearerScheme)) {
    return absl::UnauthenticatedError(
        "'authorization' must be 'Bearer <token>'");
  }
  const absl::string_view token =
      absl::StripAsciiWhitespace(value.substr(kBearerScheme.size()));
  // Blank is not "no token": it must not fall back to the certificate.
  if (token.empty()) {
    return absl::UnauthenticatedError("'authorization' holds an empty token");
  }
  return token;
}

// Common names of the client certificate TLS verified (none without one).
std::vector<std::string> CertificateCommonNames(
    grpc::ServerContextBase* context) {
  std::vector<std::string> names;
  const std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return names;
  for (const grpc::string_ref& name :
       auth->FindPropertyValues("x509_common_name")) {
    names.emplace_back(name.data(), name.size());
  }
  return names;
}

// Who a bucket belongs to when nobody authenticates: the peer's host, so that
// one host's connections share it ("ipv4:127.0.0.1:5501" -> "ipv4:127.0.0.1",
// "ipv6:[::1]:5501" -> "ipv6:[::1]").
std::string PeerHost(const std::string& peer) {
  const size_t colon = peer.rfind(':');
  const bool has_port =
      absl::StartsWith(peer, "ipv4:") || absl::StartsWith(peer, "ipv6:");
  if (!has_port || colon == std::string::npos || colon < 5) return peer;
  return peer.substr(0, colon);
}

// RESOURCE_EXHAUSTED if `caller` (null: `context`'s peer) is past `gate`'s
// limit.
absl::Status CheckRateLimit(grpc::ServerContextBase* context,
                            const MethodGate& gate,
                            const std::shared_ptr<const auth::Caller>& caller) {
  const std::string who =
      caller != nullptr ? caller->subject : PeerHost(context->peer());
  const std::optional<absl::Duration> wait =
      gate.limiter->TryAcquire(who, absl::Now());
  if (!wait.has_value()) return absl::OkStatus();
  return common::WithRetryDelay(
      absl::ResourceExhaustedError(absl::StrCat(
          "rate limit: '", who, "' may call ", gate.log_name, " ",
          gate.limiter->limit().ToString(), "; retry in ",
          absl::FormatDuration(absl::Ceil(*wait, absl::Milliseconds(1))))),
      *wait);
}

}  // namespace

CallAuthorizer::CallAuthorizer(const auth::Authenticator* authenticator,
                               const auth::RateLimitTable& rate_limits)
    : authenticator_(authenticator) {
  for (const auto& [method, limit] : rate_limits) {
    limiters_[method] = std::make_unique<auth::RateLimiter>(limit);
  }
}

auth::RateLimiter* CallAuthorizer::LimiterFor(
    const std::string& log_name) const {
  auto found = limiters_.find(log_name);
  return found == limiters_.end() ? nullptr : found->second.get();
}

MethodGate GateFor(const CallAuthorizer* authorizer, absl::string_view service,
                   absl::string_view method) {
  MethodGate gate;
  gate.method = absl::StrCat(service, "/", method);
  const size_t dot = service.rfind('.');
  gate.log_name = absl::StrCat(
      dot == absl::string_view::npos ? service : service.substr(dot + 1), ".",
      method);
  gate.allowed = auth::RolesAllowed(gate.method);
  if (authorizer != nullptr)
    gate.limiter = authorizer->LimiterFor(gate.log_name);
  return gate;
}

absl::StatusOr<std::shared_ptr<const auth::Caller>> CallAuthorizer::CallerOf(
    grpc::ServerContextBase* context) const {
  absl::StatusOr<absl::string_view> token = BearerToken(context);
  if (!token.ok()) return token.status();
  std::vector<std::string> common_names;
  if (token->empty() && authenticator_->accepts_certificates()) {
    common_names = CertificateCommonNames(context);
  }
  return authenticator_->Authenticate(*token, common_names, absl::Now());
}

absl::StatusOr<std::shared_ptr<const auth::Caller>> CallAuthorizer::Authorize(
    grpc::ServerContextBase* context, const MethodGate& gate) const {
  absl::StatusOr<std::shared_ptr<const auth::Caller>> caller =
      CallerOf(context);
  if (!caller.ok()) return caller.status();
  if (!(*caller)->roles.Intersects(gate.allowed)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "caller '", (*caller)->subject, "' (", (*caller)->roles.ToString(),
        ") may not call ", gate.method, ": it needs ",
        gate.allowed.ToString(" or ")));
  }
  return caller;
}

grpc::Status PassGate(const CallAuthorizer* authorizer,
                      grpc::ServerContextBase* context, const MethodGate& gate,
                      std::shared_ptr<const auth::Caller>* caller) {
  caller->reset();
  if (authorizer == nullptr) return grpc::Status::OK;
  if (authorizer->enabled()) {
    absl::StatusOr<std::shared_ptr<const auth::Caller>> passed =
        authorizer->Authorize(context, gate);
    if (!passed.ok()) {
      AccessLog log(gate.log_name.c_str(), absl::InfiniteDuration());
      return log.Done(ToGrpcStatus(passed.status()));
    }
    *caller = *std::move(passed);
  }
  if (gate.limiter == nullptr) return grpc::Status::OK;
  if (absl::Status limited = CheckRateLimit(context, gate, *caller);
      !limited.ok()) {
    AccessLog log(gate.log_name.c_str(), absl::InfiniteDuration());
    log.set_caller(*caller);
    return log.Done(ToGrpcStatus(limited));
  }
  return grpc::Status::OK;
}

namespace {
const std::shared_ptr<const auth::Caller> kNoCaller;
thread_local const std::shared_ptr<const auth::Caller>* gated_caller =
    &kNoCaller;
}  // namespace

const std::shared_ptr<const auth::Caller>& GatedCaller() {
  return *gated_caller;
}

GatedCallerScope::GatedCallerScope(
    const std::shared_ptr<const auth::Caller>* caller)
    : previous_(gated_caller) {
  gated_caller = caller;
}

GatedCallerScope::~GatedCallerScope() { gated_caller = previous_; }

}  // namespace aves::handlers
