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
