#include "tests/support/http_get.h"

#include <httplib.h>

#include <absl/strings/match.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_split.h>
#include <absl/strings/strip.h>

namespace aves::testing {

HttpResponse HttpGet(const std::string& address, const std::string& path,
                     const std::string& bearer_token,
                     const std::string& ca_file) {
  const std::string scheme = ca_file.empty() ? "http://" : "https://";
  httplib::Client client(scheme + address);
  if (!ca_file.empty()) client.set_ca_cert_path(ca_file.c_str());
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(10, 0);
  httplib::Headers headers;
  if (!bearer_token.empty()) {
    headers.emplace("Authorization", "Bearer " + bearer_token);
  }
  HttpResponse response;
  if (httplib::Result result = client.Get(path.c_str(), headers)) {
    response.status = result->status;
    response.body = result->body;
    response.content_type = result->get_header_value("Content-Type");
  }
  return response;
}

std::string HttpAnswer::Header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

HttpAnswer HttpSend(const std::string& address, const HttpRequest& request) {
  httplib::Client client("http://" + address);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(60, 0);
  httplib::Headers headers(request.headers.begin(), request.headers.end());
  std::string content_type = "text/plain";
  if (auto type = headers.find("Content-Type"); type != headers.end()) {
    content_type = type->second;
    headers.erase(type);
  }
  httplib::Result result = request.method == "POST"
                               ? client.Post(request.path.c_str(), headers,
                                             request.body, content_type.c_str())
                               : client.Get(request.path.c_str(), headers);
  HttpAnswer answer;
  if (result) {
    answer.status = result->status;
    answer.body = result->body;
    answer.headers.assign(result->headers.begin(), result->headers.end());
  }
  return answer;
}

double MetricValue(const std::string& scrape, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (absl::ConsumePrefix(&line, series) && absl::ConsumePrefix(&line, " ")) {
      double value = 0;
      if (absl::SimpleAtod(line, &value)) return value;
    }
  }
  return -1;
}

int SeriesCount(const std::string& scrape) {
  int count = 0;
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (!line.empty() && line[0] != '#') ++count;
  }
  return count;
}

}  // namespace aves::testing
