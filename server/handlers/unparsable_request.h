// A request that does not parse (random bytes, a truncated varint, invalid
// UTF-8 in a string field) gets INVALID_ARGUMENT "cannot parse the request",
// the same on every service.
//
// Why this exists: gRPC 1.51's callback API answers a request it cannot
// deserialize with UNIMPLEMENTED (CallbackUnaryHandler::RunHandler falls back
// to an UnimplementedUnaryReactor), which tells the caller the method does not
// exist. Each of our services re-registers its methods (in its constructor,
// MarkMethodCallback being protected) with gRPC's own handler wrapped so that
// its Deserialize never fails: an unparsable payload is replaced by a marker
// message (one unknown field of the highest field number), which the wrapped
// method refuses before the handler sees it. A parsable request is
// deserialized once, by gRPC, exactly as before.
#ifndef AVES_SERVER_HANDLERS_UNPARSABLE_REQUEST_H_
#define AVES_SERVER_HANDLERS_UNPARSABLE_REQUEST_H_

#include <memory>
#include <string>

#include <google/protobuf/message.h>
#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include "server/handlers/authorization.h"

namespace aves::handlers {

// The index gRPC gives `method` of `service` (a full name such as
// "aves.data.v1.ExerciseCacheService"): its position in the proto, read from
// the generated descriptors. Aborts at start-up when there is none: a typo
// here must not reach a running server.
int MethodIndex(const std::string& service, const std::string& method);

// A payload that parses as any message, marked unparsable.
grpc_byte_buffer* UnparsableMarkerPayload();

// True when `request` is the marker (a payload that did not parse).
bool IsUnparsableMarker(const google::protobuf::Message& request);

// The status every service answers such a request with.
grpc::Status UnparsableRequestStatus(const google::protobuf::Message& request);

// What a failed Deserialize of gRPC's handler leaves behind. The unary
// handler keeps the half-parsed messages (their strings on the heap) in its
// holder and would never release them once the marker is parsed into a
// second one; the streaming handler destroys its request itself.
template <class Request, class Response>
void DiscardFailedParse(
    grpc::internal::CallbackUnaryHandler<Request, Response>*,
    void** handler_data) {
  static_cast<grpc::MessageHolder<Request, Response>*>(*handler_data)
      ->Release();
}
template <class Request, class Response>
void DiscardFailedParse(
    grpc::internal::CallbackServerStreamingHandler<Request, Response>*,
    void**) {}

// gRPC's handler `Inner` whose Deserialize never fails: see the file comment.
template <class Inner>
class ParseFailureTolerant final : public grpc::internal::MethodHandler {
 public:
  explicit ParseFailureTolerant(std::unique_ptr<Inner> inner)
      : inner_(std::move(inner)) {}

  void RunHandler(const HandlerParameter& param) override {
    inner_->RunHandler(param);
  }

  void* Deserialize(grpc_call* call, grpc_byte_buffer* request,
                    grpc::Status* status, void** handler_data) override {
    // Inner's Deserialize takes the payload over in any case.
    void* parsed = inner_->Deserialize(call, request, status, handler_data);
    if (parsed != nullptr) return parsed;
    DiscardFailedParse(inner_.get(), handler_data);
    *status = grpc::Status::OK;
    return inner_->Deserialize(call, UnparsableMarkerPayload(), status,
                               handler_data);
  }

 private:
  std::unique_ptr<Inner> inner_;
};

// A unary method of `self` wrapped as above, behind `gate` (checked first:
// a caller who may not call the method learns nothing about its request).
template <class Request, class Response, class Self>
grpc::internal::MethodHandler* ParseCheckedUnary(
    Self* self,
    grpc::ServerUnaryReactor* (Self::*method)(grpc::CallbackServerContext*,
                                              const Request*, Response*),
    const CallAuthorizer* authorizer, MethodGate gate) {
  using Inner = grpc::internal::CallbackUnaryHandler<Request, Response>;
  return new ParseFailureTolerant<Inner>(std::make_unique<Inner>(
      [self, method, authorizer, gate = std::move(gate)](
          grpc::CallbackServerContext* context, const Request* request,
          Response* response) {
        std::shared_ptr<const auth::Caller> caller;
        if (grpc::Status refused = PassGate(authorizer, context, gate, &caller);
            !refused.ok()) {
          grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
          reactor->Finish(std::move(refused));
          return reactor;
        }
        if (IsUnparsableMarker(*request)) {
          grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
          reactor->Finish(UnparsableRequestStatus(*request));
          return reactor;
        }
        GatedCallerScope scope(&caller);
        return (self->*method)(context, request, response);
      }));
}

// Ends a server stream at once with a status (a request refused before the
// stream starts).
template <class Response>
class RefusedWriteReactor final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RefusedWriteReactor(grpc::Status status) {
    this->Finish(std::move(status));
  }
  void OnDone() override { delete this; }
};

// A server-streaming method of `self` wrapped as above, behind `gate`.
template <class Request, class Response, class Self>
grpc::internal::MethodHandler* ParseCheckedServerStreaming(
    Self* self,
    grpc::ServerWriteReactor<Response>* (Self::*method)(
        grpc::CallbackServerContext*, const Request*),
    const CallAuthorizer* authorizer, MethodGate gate) {
  using Inner =
      grpc::internal::CallbackServerStreamingHandler<Request, Response>;
  return new ParseFailureTolerant<Inner>(std::make_unique<Inner>(
      [self, method, authorizer, gate = std::move(gate)](
          grpc::CallbackServerContext* context,
          const Request* request) -> grpc::ServerWriteReactor<Response>* {
        std::shared_ptr<const auth::Caller> caller;
        if (grpc::Status refused = PassGate(authorizer, context, gate, &caller);
            !refused.ok()) {
          return new RefusedWriteReactor<Response>(std::move(refused));
        }
        if (IsUnparsableMarker(*request)) {
          return new RefusedWriteReactor<Response>(
              UnparsableRequestStatus(*request));
        }
        GatedCallerScope scope(&caller);
        return (self->*method)(context, request);
      }));
}

}  // namespace aves::handlers

// In a service's constructor (its `handler_` set): re-registers its method
// `Method` (of the generated `Service`) parse-checked and gated by the
// policy table through `handler_.authorizer`. The method's name is spelled
// once, so neither the index nor the rule can drift from the function.
#define AVES_PARSE_CHECKED_UNARY(Service, Self, Method)                     \
  MarkMethodCallback(                                                       \
      ::aves::handlers::MethodIndex(Service::service_full_name(), #Method), \
      ::aves::handlers::ParseCheckedUnary(                                  \
          this, &Self::Method, handler_.authorizer,                         \
          ::aves::handlers::GateFor(handler_.authorizer,                    \
                                    Service::service_full_name(), #Method)))
#define AVES_PARSE_CHECKED_SERVER_STREAMING(Service, Self, Method)          \
  MarkMethodCallback(                                                       \
      ::aves::handlers::MethodIndex(Service::service_full_name(), #Method), \
      ::aves::handlers::ParseCheckedServerStreaming(                        \
          this, &Self::Method, handler_.authorizer,                         \
          ::aves::handlers::GateFor(handler_.authorizer,                    \
                                    Service::service_full_name(), #Method)))

#endif  // AVES_SERVER_HANDLERS_UNPARSABLE_REQUEST_H_
