#include "server/app/http_endpoint.h"

#include <httplib.h>

#include <chrono>
#include <string_view>

#include <absl/strings/ascii.h>
#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/strip.h>
#include <absl/time/clock.h>

#include "server/app/dashboard_assets.h"
#include "server/auth/roles.h"
#include "server/common/json_writer.h"
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

// The caller the request's `Authorization: Bearer` token names.
absl::StatusOr<std::shared_ptr<const auth::Caller>> BearerCaller(
    const auth::Authenticator& authenticator, const httplib::Request& request) {
  const std::string header = request.get_header_value("Authorization");
  absl::string_view token;
  if (absl::StartsWithIgnoreCase(header, "bearer ")) {
    token = absl::StripAsciiWhitespace(absl::string_view(header).substr(7));
  }
  if (token.empty()) return absl::UnauthenticatedError("no bearer token");
  return authenticator.Authenticate(token, {}, absl::Now());
}

// Whether `request` may read the metrics; when not, the refusal is written
// into `response`.
bool Authorized(const auth::Authenticator* authenticator,
                const httplib::Request& request, httplib::Response& response) {
  if (authenticator == nullptr) return true;
  absl::StatusOr<std::shared_ptr<const auth::Caller>> caller =
      BearerCaller(*authenticator, request);
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

const char* ContentTypeOf(std::string_view filename) {
  const auto ends_with = [filename](std::string_view suffix) {
    return filename.size() >= suffix.size() &&
           filename.substr(filename.size() - suffix.size()) == suffix;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

const DashboardAsset* FindAsset(std::string_view filename) {
  for (const DashboardAsset& asset : DashboardAssets()) {
    if (asset.filename == filename) return &asset;
  }
  return nullptr;
}

void ServeAsset(const DashboardAsset& asset, httplib::Response& res) {
  // Only our own files run in the page, nothing framed it: a page showing
  // the service's state must not be scriptable from elsewhere.
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data:; style-src 'self' "
                 "'unsafe-inline'; frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-cache");
  res.set_content(std::string(asset.contents), ContentTypeOf(asset.filename));
}

// GET /api: the methods, whether avesd wants a token, and who the sent one
// names, so the page asks for a token before its first call and offers
// actions only to a role that may take them (the RPCs still decide).
std::string ApiDescription(const DashboardApi& api,
                           const auth::Authenticator* authenticator,
                           const httplib::Request& request) {
  std::string out = "{\"methods\":[";
  const std::vector<std::string> methods = api.Methods();
  for (size_t i = 0; i < methods.size(); ++i) {
    if (i > 0) out += ",";
    common::AppendJsonString(methods[i], &out);
  }
  absl::StrAppend(&out, "],\"authentication\":",
                  authenticator != nullptr ? "true" : "false");
  if (authenticator != nullptr && request.has_header("Authorization")) {
    absl::StatusOr<std::shared_ptr<const auth::Caller>> caller =
        BearerCaller(*authenticator, request);
    if (caller.ok()) {
      out += ",\"subject\":";
      common::AppendJsonString((*caller)->subject, &out);
      out += ",\"roles\":";
      common::AppendJsonString((*caller)->roles.ToString(","), &out);
    } else {
      out += ",\"tokenError\":";
      common::AppendJsonString(caller.status().message(), &out);
    }
  }
  return out + "}";
}

// With authentication off, whether the request names avesd by a loopback
// name (or the address it listens on). Otherwise a page of another site
// whose name its DNS points at 127.0.0.1 (DNS rebinding) is "same origin"
// for the browser, and could read the API from the operator's machine.
bool TrustedHost(const httplib::Request& request,
                 const std::string& listen_host) {
  const std::string header = request.get_header_value("Host");  // a copy
  absl::string_view host = header;
  if (absl::StartsWith(host, "[")) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  // Listening on every address (which needs AVES_INSECURE without
  // authentication): any name is avesd's.
  if (listen_host.empty() || listen_host == "0.0.0.0" || listen_host == "::") {
    return true;
  }
  for (absl::string_view allowed : {"localhost", "127.0.0.1", "[::1]"}) {
    if (absl::EqualsIgnoreCase(host, allowed)) return true;
  }
  return !host.empty() &&
         (host == listen_host || absl::StrCat("[", listen_host, "]") == host);
}

void AddDashboardRoutes(httplib::Server& server, const DashboardApi& api,
                        const auth::Authenticator* authenticator,
                        const std::string& listen_host) {
  // A request the API refuses before it reaches an RPC; true when refused.
  const auto refused = [authenticator, listen_host](const httplib::Request& req,
                                                    httplib::Response& res) {
    if (authenticator != nullptr || TrustedHost(req, listen_host)) {
      return false;
    }
    res.status = 403;
    res.set_content(
        common::JsonObject()
            .Add("code", "PERMISSION_DENIED")
            .Add("message",
                 "with authentication off the API answers only requests to "
                 "a loopback host name")
            .Text(),
        "application/json");
    return true;
  };
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    if (const DashboardAsset* page = FindAsset("index.html")) {
      ServeAsset(*page, res);
    }
  });
  // Browsers ask for one on any page of the origin: an answer, not a 404.
  server.Get("/favicon.ico", [](const httplib::Request&,
                                httplib::Response& res) { res.status = 204; });
  server.Get(R"(/static/([A-Za-z0-9._-]+))",
             [](const httplib::Request& req, httplib::Response& res) {
               const DashboardAsset* asset = FindAsset(req.matches[1].str());
               if (asset == nullptr) {
                 res.status = 404;
                 res.set_content("no such file\n", "text/plain");
                 return;
               }
               ServeAsset(*asset, res);
             });
  server.Get("/api", [&api, authenticator, refused](const httplib::Request& req,
                                                    httplib::Response& res) {
    if (refused(req, res)) return;
    res.set_header("Cache-Control", "no-store");
    res.set_content(ApiDescription(api, authenticator, req),
                    "application/json");
  });
  const auto call = [&api, refused](const httplib::Request& req,
                                    httplib::Response& res) {
    if (refused(req, res)) return;
    const bool post = req.method == "POST";
    // A POST must say it is JSON: a form on another site cannot, so a
    // browser will not send one there without asking (CORS), and avesd
    // never answers that question.
    if (post && !absl::StartsWithIgnoreCase(
                    req.get_header_value("Content-Type"), "application/json")) {
      res.status = 415;
      res.set_content(common::JsonObject()
                          .Add("code", "UNSUPPORTED_MEDIA_TYPE")
                          .Add("message",
                               "send the request as Content-Type: "
                               "application/json")
                          .Text(),
                      "application/json");
      return;
    }
    DashboardApi::Answer answer =
        api.Call(req.matches[1].str(), post ? req.body : "",
                 req.get_header_value("Authorization"), post);
    res.status = answer.http_status;
    if (answer.http_status == 401) res.set_header("WWW-Authenticate", "Bearer");
    res.set_header("Cache-Control", "no-store");
    res.set_content(std::move(answer.json), "application/json");
  };
  server.Get(R"(/api/([A-Za-z.]+/[A-Za-z]+))", call);
  server.Post(R"(/api/([A-Za-z.]+/[A-Za-z]+))", call);
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
  // Four threads: a scrape, a probe and the dashboard's page at once; more
  // would only queue on the same two cores the RPCs use. One request per
  // connection: a connection kept alive holds its thread while idle, and a
  // browser opens six.
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  server.set_keep_alive_max_count(1);
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

  if (opts.dashboard != nullptr) {
    AddDashboardRoutes(server, *opts.dashboard, opts.authenticator, host);
  }

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
      "serving {}/metrics, /healthz, /readyz on {}:{}{}",
      opts.dashboard == nullptr ? "" : "the dashboard (/), /api, ", host, port,
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
