// The gate in front of every RPC of our services: who calls (auth/
// authenticator.h, from the call's `authorization` metadata and its TLS
// client certificate) and whether their roles allow the method (auth/
// policy.h), then whether the caller is within the method's rate limit (auth/
// rate_limits.h). Every service registers its methods through
// unparsable_request.h's macros, which put this gate first, so a method
// cannot be served ungated; a refused call gets its access-log line.
#ifndef AVES_SERVER_HANDLERS_AUTHORIZATION_H_
#define AVES_SERVER_HANDLERS_AUTHORIZATION_H_

#include <memory>
#include <string>

#include <absl/container/flat_hash_map.h>
#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <grpcpp/server_context.h>

#include "server/auth/authenticator.h"
#include "server/auth/rate_limits.h"
#include "server/auth/roles.h"

namespace aves::handlers {

// One method's rule, resolved once when the service registers it.
struct MethodGate {
  // "aves.data.v1.AdminService/GetPoolStats".
  std::string method;
  // "AdminService.GetPoolStats", as the access log names it.
  std::string log_name;
  auth::RoleSet allowed;
  // The method's buckets (owned by the CallAuthorizer); null: unlimited.
  auth::RateLimiter* limiter = nullptr;
};

class CallAuthorizer {
 public:
  // `authenticator` null: authentication is off and every caller may call
  // every method (avesd on loopback with no credentials configured); rate
  // limits apply either way, per peer host when nobody authenticates.
  explicit CallAuthorizer(const auth::Authenticator* authenticator,
                          const auth::RateLimitTable& rate_limits = {});

  // The caller of `context`, allowed `gate`; UNAUTHENTICATED when it proves
  // no identity, PERMISSION_DENIED when its roles do not allow the method.
  // Only when enabled().
  absl::StatusOr<std::shared_ptr<const auth::Caller>> Authorize(
      grpc::ServerContextBase* context, const MethodGate& gate) const;

  bool enabled() const { return authenticator_ != nullptr; }

  // The buckets of the method the access log calls `log_name`; null when it
  // is unlimited.
  auth::RateLimiter* LimiterFor(const std::string& log_name) const;

 private:
  // The caller of `context`, whatever it may call.
  absl::StatusOr<std::shared_ptr<const auth::Caller>> CallerOf(
      grpc::ServerContextBase* context) const;

  const auth::Authenticator* authenticator_;
  absl::flat_hash_map<std::string, std::unique_ptr<auth::RateLimiter>>
      limiters_;
};

// The gate of `service` (a full name) / `method`, from the policy table and
// `authorizer`'s rate limits (none when it is null).
MethodGate GateFor(const CallAuthorizer* authorizer, absl::string_view service,
                   absl::string_view method);

// `gate` applied by `authorizer` (null: no check); logs a refusal, and
// answers a caller past the rate limit RESOURCE_EXHAUSTED with a RetryInfo.
// On OK, `*caller` is who passed (null when authentication is off).
grpc::Status PassGate(const CallAuthorizer* authorizer,
                      grpc::ServerContextBase* context, const MethodGate& gate,
                      std::shared_ptr<const auth::Caller>* caller);

// The caller the gate let through, for the synchronous part of the handler
// it is calling (null outside one, and when authentication is off). The
// gate and the handler share gRPC's thread and the generated handler
// signatures have no room for it, so the gate sets it for the duration of
// the call (GatedCallerScope); a handler that offloads work copies it first.
const std::shared_ptr<const auth::Caller>& GatedCaller();

class GatedCallerScope {
 public:
  explicit GatedCallerScope(const std::shared_ptr<const auth::Caller>* caller);
  ~GatedCallerScope();
  GatedCallerScope(const GatedCallerScope&) = delete;
  GatedCallerScope& operator=(const GatedCallerScope&) = delete;

 private:
  const std::shared_ptr<const auth::Caller>* previous_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_AUTHORIZATION_H_
