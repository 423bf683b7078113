// DashboardApi: the JSON the dashboard page reads, answered by avesd's own
// RPCs. Each /api/<Service>/<Method> of an allow-list is that RPC, called on
// an in-process channel with the page's `authorization` header; the request
// is the POST body (protobuf's JSON mapping, empty for defaults) and the
// answer the response in the same mapping. One source of truth for the page
// and the admin RPCs, and every rule of the RPCs (roles, rate limits,
// metrics, the access log) applies to the page's calls unchanged.
#ifndef AVES_SERVER_APP_DASHBOARD_API_H_
#define AVES_SERVER_APP_DASHBOARD_API_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/strings/string_view.h>
#include <grpcpp/channel.h>

namespace aves::app {

class DashboardApi {
 public:
  struct Answer {
    int http_status = 200;
    std::string json;  // the response, or {"code": "...", "message": "..."}
  };

  // `channel`: the gRPC server's own, in process.
  explicit DashboardApi(std::shared_ptr<grpc::Channel> channel);

  // `method` "AdminService/GetPoolStats"; 404 for one not on the list.
  // `authorization` is the HTTP header as sent (empty: none). An action
  // (RunAnalyze, ReindexIndex) answers only a POST (`post`), so a link
  // cannot start one.
  Answer Call(absl::string_view method, absl::string_view request_json,
              absl::string_view authorization, bool post) const;

  // The allowed methods, for the listing at /api.
  std::vector<std::string> Methods() const;

 private:
  using Handler = std::function<Answer(absl::string_view request_json,
                                       absl::string_view authorization)>;
  struct Route {
    Handler handler;
    bool action = false;
  };
  std::shared_ptr<grpc::Channel> channel_;
  absl::flat_hash_map<std::string, Route> routes_;
};

// The HTTP status for a gRPC code (google.rpc.Code's mapping).
int HttpStatusOf(int grpc_code);

}  // namespace aves::app

#endif  // AVES_SERVER_APP_DASHBOARD_API_H_
