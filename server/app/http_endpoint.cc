#include "server/app/http_endpoint.h"

#include <httplib.h>

#include <chrono>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/strip.h>
#include <absl/time/clock.h>

#include "server/auth/roles.h"
#include "server/observability/logging.h"

namespace aves::app {
namespace {

constexpr char kMetricsContentType[] =
    "text/plain; version=0.0.4; charset=utf-8";
// Who may read the service's figures: the dashboard shows them, operators
// act on them (the policy table's readers of AdminService).
constexpr auth::RoleSet kMetricsReaders{
    auth::Role::kOperator, auth::Role::kDashboard, auth::Role::kAdmin};

// "127.0.0.1:9464" / "[::1]:9464" -> host, port.
bool SplitHostPort(const std::string& listen, std::string* host, int* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  absl::string_view name = absl::string_view(listen).substr(0, colon);
  if (absl::ConsumePrefix(&name, "[") && !absl::ConsumeSuffix(&name, "]")) {
    return false;
  }
  *host = std::string(name);
  return absl::SimpleAtoi(listen.substr(colon + 1), port) && *port >= 0 &&
         *port <= 65535;
}

// Whether `request` may read the metrics; when not, the refusal is written
// into `response`.
bool Authorized(const auth::Authenticator* authenticator,
                const httplib::Request& request, httplib::Response& response) {
  if (authenticator == nullptr) return true;
  const std::string header = request.get_header_value("Authorization");
  absl::string_view token;
  if (absl::StartsWithIgnoreCase(header, "bearer ")) {
    token = absl::StripAsciiWhitespace(absl::string_view(header).substr(7));
  }
  absl::StatusOr<std::shared_ptr<const auth::Caller>> caller =
      token.empty() ? absl::UnauthenticatedError("no bearer token")
                    : authenticator->Authenticate(token, {}, absl::Now());
  if (!caller.ok()) {
    response.status = 401;
    response.set_header("WWW-Authenticate", "Bearer");
    response.set_content(absl::StrCat(caller.status().message(), "\n"),
                         "text/plain");
    return false;
  }
  if (!(*caller)->roles.Intersects(kMetricsReaders)) {
    response.status = 403;
    response.set_content(
        absl::StrCat("caller '", (*caller)->subject, "' (",
                     (*caller)->roles.ToString(), ") may not read ",
                     request.path, ": it needs ",
                     kMetricsReaders.ToString(" or "), "\n"),
        "text/plain");
    return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Start(
    Options options) {
  std::string host;
  int port = 0;
  if (!SplitHostPort(options.listen, &host, &port)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AVES_HTTP_LISTEN: '", options.listen, "' is not host:port"));
  }
  std::unique_ptr<HttpEndpoint> endpoint(new HttpEndpoint());
  endpoint->options_ = std::move(options);
  const Options& opts = endpoint->options_;
  if (!opts.tls_cert_file.empty()) {
    absl::StatusOr<std::unique_ptr<RotatingCertificate>> certificate =
        RotatingCertificate::Load(opts.tls_cert_file, opts.tls_key_file,
                                  opts.tls_reload_interval);
    if (!certificate.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("HTTP listener: cannot use the TLS certificate: ",
                       certificate.status().message()));
    }
    endpoint->certificate_ = *std::move(certificate);
    RotatingCertificate* rotating = endpoint->certificate_.get();
    auto tls = std::make_unique<httplib::SSLServer>(
        [rotating](SSL_CTX& ctx) { return rotating->SetUp(ctx); });
    if (!tls->is_valid()) {
      return absl::InternalError("HTTP listener: cannot set up TLS");
    }
    endpoint->server_ = std::move(tls);
  } else {
    endpoint->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *endpoint->server_;
  // Two threads: a scrape and a probe at once; more would only queue on
  // the same two cores the RPCs use.
  server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  server.set_keep_alive_timeout(30);
  server.set_payload_max_length(64 << 10);

  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server.Get("/readyz",
             [&opts](const httplib::Request&, httplib::Response& res) {
               const bool ready = opts.ready && opts.ready();
               res.status = ready ? 200 : 503;
               res.set_content(ready ? "ready\n" : "not ready\n", "text/plain");
             });
  server.Get(
      "/metrics", [&opts](const httplib::Request& req, httplib::Response& res) {
        if (!Authorized(opts.authenticator, req, res)) return;
        res.set_content(opts.metrics == nullptr ? "" : opts.metrics->Render(),
                        kMetricsContentType);
      });

  if (port == 0) {
    port = server.bind_to_any_port(host);
  } else if (!server.bind_to_port(host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", opts.listen, " (HTTP)"));
  }
  endpoint->port_ = port;
  endpoint->thread_ = std::thread([&server] { server.listen_after_bind(); });
  observability::Logger("http")->info(
      "serving /metrics, /healthz, /readyz on {}:{}{}", host, port,
      opts.tls_cert_file.empty() ? "" : " (TLS)");
  return endpoint;
}

void HttpEndpoint::Stop() {
  if (server_ != nullptr && thread_.joinable()) {
    // stop() does nothing until the loop runs: a Stop right after Start
    // waits for it (bounded; the loop starts at once).
    for (int waited_ms = 0; !server_->is_running() && waited_ms < 5000;
         ++waited_ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    server_->stop();
  }
  if (thread_.joinable()) thread_.join();
}

HttpEndpoint::~HttpEndpoint() { Stop(); }

}  // namespace aves::app
