// avesd's second listener (AVES_HTTP_LISTEN): plain HTTP for what scrapes
// and probes it, served by cpp-httplib (Debian's libcpp-httplib).
//   /healthz  200 while the process runs (open)
//   /readyz   200 while gRPC health says SERVING, else 503 (open)
//   /metrics  the Prometheus exposition; with authentication on, a bearer
//             token of operator, dashboard or admin
//   /         the dashboard page and /static/* its files (no data in them)
//   /api/*    the page's JSON: RPCs of an allow-list (dashboard_api.h),
//             each needing what the RPC needs
// TLS with avesd's certificate when it has one, re-read when it is rotated on
// disk (rotating_certificate.h). A few threads of its own, so
// a slow scraper never takes an RPC's thread.
#ifndef AVES_SERVER_APP_HTTP_ENDPOINT_H_
#define AVES_SERVER_APP_HTTP_ENDPOINT_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <absl/status/statusor.h>
#include <absl/time/time.h>

#include "server/app/dashboard_api.h"
#include "server/app/rotating_certificate.h"
#include "server/auth/authenticator.h"
#include "server/observability/metrics.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace aves::app {

class HttpEndpoint {
 public:
  struct Options {
    std::string listen;  // host:port; port 0 picks a free one
    std::string tls_cert_file, tls_key_file;  // both, or plain HTTP
    absl::Duration tls_reload_interval = absl::Minutes(1);  // files re-read
    const auth::Authenticator* authenticator = nullptr;     // null: open
    std::function<bool()> ready;
    const observability::MetricsRegistry* metrics = nullptr;
    const DashboardApi* dashboard = nullptr;  // null: no page, no /api
  };

  // Listening once it returns OK; UNAVAILABLE when it cannot bind.
  static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(Options options);
  ~HttpEndpoint();  // Stop()

  int port() const { return port_; }
  // Stops accepting and waits for the requests in flight.
  void Stop();

 private:
  HttpEndpoint() = default;
  Options options_;
  std::unique_ptr<RotatingCertificate> certificate_;  // with TLS
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace aves::app

#endif  // AVES_SERVER_APP_HTTP_ENDPOINT_H_
