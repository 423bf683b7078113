// The shipped deploy/prometheus config, run by Debian's real Prometheus
// against a real avesd (HTTPS with the test's CA, bearer tokens on): after
// known RPCs, Prometheus's own query API reports exactly those counts.
// The config is the shipped one with three things pointed at the test: the
// target, the certificate's name, and a 1 s scrape interval.
#include <httplib.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <string>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_replace.h>
#include <absl/time/clock.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "aves/data/v1/exercise_cache.grpc.pb.h"
#include "client/lib/channel.h"
#include "tests/support/avesd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"
#include "tests/support/test_pki.h"
#include "tests/support/test_tokens.h"

#include <netinet/in.h>
#include <sys/socket.h>

namespace aves {
namespace {

namespace v1 = data::v1;
const std::string kSecret = testing::kTestTokenSecret;

std::string Token(const std::string& role) {
  return testing::TestToken(role + "-1", {role}, absl::Hours(1));
}

// A loopback port nothing listens on right now (the kernel's pick).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

// The value of PromQL `query` now (the first sample), or -1.
double Query(const std::string& prometheus, const std::string& query) {
  httplib::Client client("http://" + prometheus);
  client.set_read_timeout(5, 0);
  const httplib::Params params = {{"query", query}};
  auto result = client.Get("/api/v1/query", params, httplib::Headers());
  if (!result || result->status != 200) return -1;
  static const std::regex value(R"re("value":\[[0-9.]+,"([^"]+)"\])re");
  std::smatch match;
  if (!std::regex_search(result->body, match, value)) return -1;
  return std::stod(match[1].str());
}

// Polls `query` until it equals `wanted` (a scrape and an evaluation away;
// bounded); returns the last value.
double WaitForValue(const std::string& prometheus, const std::string& query,
                    double wanted) {
  double seen = -1;
  for (int i = 0; i < 300 && seen != wanted; ++i) {
    seen = Query(prometheus, query);
    if (seen != wanted) absl::SleepFor(absl::Milliseconds(100));
  }
  return seen;
}

TEST(PrometheusTest, ScrapesWhatTheRpcsDid) {
  auto database = testing::TestDatabase::CreateMigrated("prometheus");
  ASSERT_OK(database);
  auto pki = testing::TestPki::Create("prometheus test CA");
  ASSERT_OK(pki);
  auto certificate = pki->Issue("localhost");
  ASSERT_OK(certificate);
  const std::string dir = testing::MakeTempDir();
  std::ofstream(dir + "/jwt.key") << kSecret;
  testing::AvesdProcess avesd((*database)->conninfo(),
                              {{"AVES_TLS_CERT_FILE", certificate->cert_file},
                               {"AVES_TLS_KEY_FILE", certificate->key_file},
                               {"AVES_AUTH_JWT_KEY_FILE", dir + "/jwt.key"}});
  ASSERT_FALSE(avesd.Address().empty());
  const std::string http = avesd.HttpAddress();
  ASSERT_FALSE(http.empty());

  // The shipped config, pointed at this avesd.
  std::string config = testing::ReadFileOrEmpty(
      AVES_SOURCE_DIR "/deploy/prometheus/prometheus.yml");
  ASSERT_THAT(config, ::testing::HasSubstr("avesd:9464"));
  config = absl::StrReplaceAll(
      config, {{"avesd:9464", http},
               {"server_name: avesd", "server_name: localhost"},
               {"scrape_interval: 15s", "scrape_interval: 1s"},
               {"evaluation_interval: 15s", "evaluation_interval: 1s"}});
  std::ofstream(dir + "/prometheus.yml") << config;
  std::ofstream(dir + "/alerts.yml") << testing::ReadFileOrEmpty(
      AVES_SOURCE_DIR "/deploy/prometheus/alerts.yml");
  ASSERT_EQ(mkdir((dir + "/keys").c_str(), 0700), 0);
  std::ofstream(dir + "/keys/server.pem")
      << testing::ReadFileOrEmpty(pki->ca_cert_file());
  std::ofstream(dir + "/keys/prometheus.token") << Token("dashboard");
  const std::string prometheus = absl::StrCat("127.0.0.1:", FreePort());
  testing::Subprocess server(
      {"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
       "--storage.tsdb.path=" + dir + "/data",
       "--web.listen-address=" + prometheus, "--log.level=warn"});
  ASSERT_TRUE(server.started());

  // Known RPCs, over TLS with a frontend token.
  client::ChannelSecurity security;
  security.tls = true;
  security.root_certs_pem = testing::ReadFileOrEmpty(pki->ca_cert_file());
  security.server_name = "localhost";
  security.bearer_token = Token("frontend");
  auto stub = v1::ExerciseCacheService::NewStub(
      client::MakeChannel(avesd.Address(), security));
  auto lookup = [&](const std::string& user, int difficulty) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::GetExerciseRequest request;
    request.set_user_id(user);
    request.set_exercise_type("identify");
    request.set_difficulty_level(difficulty);
    v1::GetExerciseResponse response;
    return stub->GetExercise(&context, request, &response);
  };
  const std::string user = "3f1e0c9a-58a4-4d0c-9f5e-2b8c1d7e6a40";
  {
    grpc::ClientContext context;
    v1::PutExerciseRequest put;
    put.set_user_id(user);
    put.set_exercise_type("identify");
    put.set_difficulty_level(2);
    put.set_exercise_data("{}");
    v1::PutExerciseResponse response;
    ASSERT_TRUE(stub->PutExercise(&context, put, &response).ok());
  }
  constexpr int kHits = 5, kMisses = 3;
  for (int i = 0; i < kHits; ++i) ASSERT_TRUE(lookup(user, 2).ok());
  for (int i = 0; i < kMisses; ++i) {
    ASSERT_EQ(lookup(user, 4).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  ASSERT_EQ(lookup("not-a-uuid", 2).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // A bulk load of k rows through avesctl, as a loader.
  const std::string csv = dir + "/words.csv";
  std::ofstream(csv) << "spanish_term,english_term\nla garza,heron\n"
                     << "el pico,beak\nel ala,wing\n";
  std::ofstream(dir + "/loader.token") << Token("loader");
  testing::CommandResult load = testing::RunCommand(
      {AVESCTL_PATH, "--addr=" + avesd.Address(), "--ca=" + pki->ca_cert_file(),
       "--server-name=localhost", "--token-file=" + dir + "/loader.token",
       "load", "--table=vocabulary", csv});
  ASSERT_EQ(load.exit_code, 0) << load.err;

  const std::string lookups =
      "grpc_server_handled_total{job=\"avesd\",grpc_method=\"GetExercise\",";
  EXPECT_EQ(WaitForValue(prometheus, "up{job=\"avesd\"}", 1), 1)
      << "Prometheus did not scrape avesd over HTTPS with its token\n"
      << server.Stderr();
  EXPECT_EQ(WaitForValue(prometheus, lookups + "grpc_code=\"OK\"}", kHits),
            kHits);
  EXPECT_EQ(
      WaitForValue(prometheus, lookups + "grpc_code=\"NotFound\"}", kMisses),
      kMisses);
  EXPECT_EQ(
      WaitForValue(prometheus, lookups + "grpc_code=\"InvalidArgument\"}", 1),
      1);
  EXPECT_EQ(WaitForValue(prometheus,
                         "grpc_server_handled_total{grpc_method=\"Insert\","
                         "grpc_code=\"OK\"}",
                         1),
            1);
  EXPECT_EQ(WaitForValue(prometheus,
                         "aves_bulk_rows_total{table=\"vocabulary\","
                         "mode=\"insert\",outcome=\"inserted\"}",
                         3),
            3);
  EXPECT_EQ(WaitForValue(prometheus,
                         "aves_bulk_rows_total{table=\"vocabulary\","
                         "mode=\"insert\",outcome=\"failed\"}",
                         0),
            0);
  EXPECT_EQ(WaitForValue(prometheus,
                         "aves_bulk_batches_total{table=\"vocabulary\","
                         "mode=\"insert\"}",
                         1),
            1);
  EXPECT_EQ(WaitForValue(prometheus, "aves_bulk_loads_in_progress", 0), 0);
  EXPECT_EQ(WaitForValue(prometheus, "aves_serving", 1), 1);
  // The rules loaded: nothing is firing on a healthy service.
  EXPECT_EQ(
      Query(prometheus, "count(ALERTS{alertstate=\"firing\"}) or vector(0)"),
      0);
}

}  // namespace
}  // namespace aves
