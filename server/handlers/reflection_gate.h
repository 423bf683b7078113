// Server reflection (gRPC's plugin, which we do not own) behind the same
// gate as our services: with authentication on and AVES_REFLECTION=admin,
// only a caller with the admin role may list the services and their
// messages. The plugin registers a plain service with no hook of ours, so
// the gate is a server interceptor on the reflection methods alone; every
// other method's calls get no interceptor and pay nothing.
#ifndef AVES_SERVER_HANDLERS_REFLECTION_GATE_H_
#define AVES_SERVER_HANDLERS_REFLECTION_GATE_H_

#include <memory>

#include <grpcpp/support/server_interceptor.h>

#include "server/handlers/authorization.h"

namespace aves::handlers {

// Interceptors refusing reflection calls `authorizer` does not let through
// as admin-only methods (UNAUTHENTICATED / PERMISSION_DENIED, logged like
// any refusal). `authorizer` must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
AdminOnlyReflection(const CallAuthorizer* authorizer);

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_REFLECTION_GATE_H_
