#include "server/handlers/unparsable_request.h"

#include <cstdlib>
#include <iostream>

#include <absl/strings/str_cat.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpc/byte_buffer.h>
#include <grpc/slice.h>

namespace aves::handlers {
namespace {

// The highest field number protobuf allows: no message of ours uses it.
constexpr int kMarkerField = (1 << 29) - 1;
// Its tag (wire type 0) as a varint, then the value 1.
constexpr char kMarkerBytes[] = "\xF8\xFF\xFF\xFF\x0F\x01";

}  // namespace

int MethodIndex(const std::string& service, const std::string& method) {
  const google::protobuf::ServiceDescriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          service);
  const google::protobuf::MethodDescriptor* found =
      descriptor == nullptr ? nullptr : descriptor->FindMethodByName(method);
  if (found == nullptr) {
    std::cerr << "avesd: no method " << service << "." << method << "\n";
    std::abort();
  }
  return found->index();
}

grpc_byte_buffer* UnparsableMarkerPayload() {
  grpc_slice slice =
      grpc_slice_from_static_buffer(kMarkerBytes, sizeof(kMarkerBytes) - 1);
  grpc_byte_buffer* payload = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  return payload;
}

bool IsUnparsableMarker(const google::protobuf::Message& request) {
  const google::protobuf::UnknownFieldSet& unknown =
      request.GetReflection()->GetUnknownFields(request);
  // Cheap on the hot path: a parsed request of ours has no unknown fields
  // unless a newer client sent some.
  for (int i = 0; i < unknown.field_count(); ++i) {
    if (unknown.field(i).number() == kMarkerField) return true;
  }
  return false;
}

grpc::Status UnparsableRequestStatus(const google::protobuf::Message& request) {
  return grpc::Status(
      grpc::StatusCode::INVALID_ARGUMENT,
      absl::StrCat("cannot parse the request as ",
                   request.GetDescriptor()->full_name(),
                   " (not protobuf wire format, a truncated field, or invalid "
                   "UTF-8 in a string field)"));
}

}  // namespace aves::handlers
