// A GET against avesd's HTTP listener (cpp-httplib's client), for tests.
#ifndef AVES_TESTS_SUPPORT_HTTP_GET_H_
#define AVES_TESTS_SUPPORT_HTTP_GET_H_

#include <string>
#include <utility>
#include <vector>

namespace aves::testing {

struct HttpResponse {
  int status = 0;  // 0: no answer (nothing listening, timed out)
  std::string body;
  std::string content_type;
};

// GET http://`address``path`, with `Authorization: Bearer <token>` when
// `bearer_token` is set; over TLS trusting `ca_file` when set.
HttpResponse HttpGet(const std::string& address, const std::string& path,
                     const std::string& bearer_token = "",
                     const std::string& ca_file = "");

// Any request, with `headers` (e.g. Host, Content-Type) and a body, for the
// dashboard's API.
struct HttpRequest {
  std::string method = "GET";
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};
struct HttpAnswer {
  int status = 0;  // 0: no answer
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string Header(const std::string& name) const;
};
HttpAnswer HttpSend(const std::string& address, const HttpRequest& request);

// Sample lines of a scrape: the value of `series` exactly as written
// ("name{labels}"), or -1 when absent.
double MetricValue(const std::string& scrape, const std::string& series);

// How many sample lines (not comments) a scrape holds.
int SeriesCount(const std::string& scrape);

}  // namespace aves::testing

#endif  // AVES_TESTS_SUPPORT_HTTP_GET_H_
