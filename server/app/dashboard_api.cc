#include "server/app/dashboard_api.h"

#include <algorithm>

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>

#include "aves/data/v1/admin.grpc.pb.h"
#include "aves/data/v1/batch_jobs.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/common/json_writer.h"

namespace aves::app {
namespace {

namespace v1 = aves::data::v1;
namespace health = grpc::health::v1;

// Long enough for the slowest read (VerifyIndexes plans every query) and a
// RunAnalyze of every table; the page shows the error after it.
constexpr absl::Duration kCallDeadline = absl::Seconds(60);
// A bearer token is a few hundred bytes; gRPC takes printable ASCII only.
constexpr size_t kMaxAuthorization = 8 << 10;

DashboardApi::Answer ErrorAnswer(absl::StatusCode code,
                                 absl::string_view message) {
  return {HttpStatusOf(static_cast<int>(code)),
          common::JsonObject()
              .Add("code", absl::StatusCodeToString(code))
              .Add("message", message)
              .Text()};
}

bool PrintableAscii(absl::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c >= 0x20 && c < 0x7f; });
}

// The handler calling `method` of `stub` with the request's JSON.
template <typename Stub, typename Request, typename Response>
std::function<DashboardApi::Answer(absl::string_view, absl::string_view)> Unary(
    std::shared_ptr<Stub> stub,
    grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                 Response*)) {
  return [stub, method](absl::string_view request_json,
                        absl::string_view authorization) {
    Request request;
    if (!request_json.empty()) {
      const auto parsed = google::protobuf::util::JsonStringToMessage(
          std::string(request_json), &request,
          google::protobuf::util::JsonParseOptions());
      if (!parsed.ok()) {
        return ErrorAnswer(
            absl::StatusCode::kInvalidArgument,
            absl::StrCat("request body: ", std::string(parsed.message())));
      }
    }
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
    if (!authorization.empty()) {
      context.AddMetadata("authorization", std::string(authorization));
    }
    Response response;
    const grpc::Status status = ((*stub).*method)(&context, request, &response);
    if (!status.ok()) {
      return ErrorAnswer(static_cast<absl::StatusCode>(status.error_code()),
                         status.error_message());
    }
    google::protobuf::util::JsonPrintOptions options;
    // Zeros and empty lists too: the page reads every field.
    options.always_print_primitive_fields = true;
    DashboardApi::Answer answer;
    const auto printed = google::protobuf::util::MessageToJsonString(
        response, &answer.json, options);
    if (!printed.ok()) {
      return ErrorAnswer(
          absl::StatusCode::kInternal,
          absl::StrCat("response: ", std::string(printed.message())));
    }
    return answer;
  };
}

}  // namespace

int HttpStatusOf(int grpc_code) {
  switch (static_cast<absl::StatusCode>(grpc_code)) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

DashboardApi::DashboardApi(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)) {
  std::shared_ptr<v1::AdminService::Stub> admin =
      v1::AdminService::NewStub(channel_);
  std::shared_ptr<v1::BatchJobService::Stub> jobs =
      v1::BatchJobService::NewStub(channel_);
  std::shared_ptr<health::Health::Stub> health =
      health::Health::NewStub(channel_);
  using Admin = v1::AdminService::Stub;
  using Jobs = v1::BatchJobService::Stub;
  routes_["Health/Check"] = {Unary(health, &health::Health::Stub::Check)};
  routes_["AdminService/GetRpcStats"] = {Unary(admin, &Admin::GetRpcStats)};
  routes_["AdminService/GetPoolStats"] = {Unary(admin, &Admin::GetPoolStats)};
  routes_["AdminService/ListSlowQueries"] = {
      Unary(admin, &Admin::ListSlowQueries)};
  routes_["AdminService/GetQueryStats"] = {Unary(admin, &Admin::GetQueryStats)};
  routes_["AdminService/GetCacheStats"] = {Unary(admin, &Admin::GetCacheStats)};
  routes_["AdminService/VerifyIndexes"] = {Unary(admin, &Admin::VerifyIndexes)};
  routes_["AdminService/GetIndexHealth"] = {
      Unary(admin, &Admin::GetIndexHealth)};
  routes_["AdminService/GetMigrationStatus"] = {
      Unary(admin, &Admin::GetMigrationStatus)};
  routes_["AdminService/RunAnalyze"] = {Unary(admin, &Admin::RunAnalyze),
                                        /*action=*/true};
  routes_["AdminService/ReindexIndex"] = {Unary(admin, &Admin::ReindexIndex),
                                          /*action=*/true};
  routes_["BatchJobService/ListJobs"] = {Unary(jobs, &Jobs::ListJobs)};
  routes_["BatchJobService/GetJob"] = {Unary(jobs, &Jobs::GetJob)};
  routes_["BatchJobService/ListJobErrors"] = {
      Unary(jobs, &Jobs::ListJobErrors)};
}

DashboardApi::Answer DashboardApi::Call(absl::string_view method,
                                        absl::string_view request_json,
                                        absl::string_view authorization,
                                        bool post) const {
  auto route = routes_.find(method);
  // The name is not echoed: it is the caller's text.
  if (route == routes_.end()) {
    return ErrorAnswer(absl::StatusCode::kNotFound,
                       "no such method of the dashboard API (GET /api lists "
                       "them)");
  }
  if (route->second.action && !post) {
    return {405, common::JsonObject()
                     .Add("code", "METHOD_NOT_ALLOWED")
                     .Add("message", "an action takes a POST")
                     .Text()};
  }
  if (authorization.size() > kMaxAuthorization ||
      !PrintableAscii(authorization)) {
    return ErrorAnswer(absl::StatusCode::kUnauthenticated,
                       "the Authorization header is not a bearer token");
  }
  return route->second.handler(request_json, authorization);
}

std::vector<std::string> DashboardApi::Methods() const {
  std::vector<std::string> methods;
  for (const auto& [name, route] : routes_) methods.push_back(name);
  std::sort(methods.begin(), methods.end());
  return methods;
}

}  // namespace aves::app
