// The Node/TypeScript client (client/node) against a real avesd, with
// authentication on, on its own migrated database: each suite of the
// package's tests (node's own test runner, client/node/test/*.test.ts, built
// by scripts/test into client/node/dist) runs here as one test, so ctest
// runs them beside the rest and each gets a fresh database and avesd. The
// "dashboard" suite drives avesd's page in Debian's chromium (headless,
// through chromedriver) and writes a screenshot of each view to
// artifacts/dashboard in the build directory.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/avesd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"
#include "tests/support/test_pki.h"
#include "tests/support/test_tokens.h"

namespace aves {
namespace {

const std::string kPackage = AVES_SOURCE_DIR "/client/node";

class NodeClientTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NodeClientTest, SuitePasses) {
  const std::string script = kPackage + "/dist/test/" + GetParam() + ".test.js";
  ASSERT_TRUE(std::filesystem::exists(script))
      << script << " is missing: scripts/test builds client/node "
      << "(npm ci && npm run build there)";
  auto database = testing::TestDatabase::CreateMigrated("node_" + GetParam());
  ASSERT_OK(database);
  const std::string key_file = testing::MakeTempDir() + "/jwt.key";
  std::ofstream(key_file) << testing::kTestTokenSecret << "\n";
  std::map<std::string, std::string> avesd_env = {
      {"AVES_AUTH_JWT_KEY_FILE", key_file}, {"AVES_FEED_HEARTBEAT_MS", "500"}};
  std::map<std::string, std::string> env;
  if (GetParam() == "tls") {
    // TLS on the listener, and client certificates of the CA mapped to a
    // role (tokens still work beside them).
    auto pki = testing::TestPki::Create("node client test CA");
    ASSERT_OK(pki);
    auto server = pki->Issue("localhost");
    ASSERT_OK(server);
    auto client = pki->Issue("node-cert");
    ASSERT_OK(client);
    avesd_env["AVES_TLS_CERT_FILE"] = server->cert_file;
    avesd_env["AVES_TLS_KEY_FILE"] = server->key_file;
    avesd_env["AVES_TLS_CLIENT_CA_FILE"] = pki->ca_cert_file();
    avesd_env["AVES_TLS_CLIENT_AUTH"] = "request";
    avesd_env["AVES_AUTH_CERT_ROLES"] = "node-cert=frontend";
    env["AVES_TEST_CA_FILE"] = pki->ca_cert_file();
    env["AVES_TEST_CLIENT_CERT_FILE"] = client->cert_file;
    env["AVES_TEST_CLIENT_KEY_FILE"] = client->key_file;
  }
  if (GetParam() == "dashboard") {
    for (const char* binary : {"/usr/bin/chromium", "/usr/bin/chromedriver"}) {
      ASSERT_TRUE(std::filesystem::exists(binary))
          << binary << " is missing: scripts/test installs chromium and "
          << "chromium-driver";
    }
    // Slow statements the test drives (a 600 ms lock wait) are logged, and
    // the overview has a point every second.
    avesd_env["AVES_SLOW_QUERY_MS"] = "200";
    avesd_env["AVES_RPC_STATS_INTERVAL_MS"] = "1000";
    const std::filesystem::path shots =
        std::filesystem::current_path() / "artifacts" / "dashboard";
    std::filesystem::create_directories(shots);
    env["AVES_TEST_ARTIFACTS"] = shots.string();
    env["HOME"] = testing::MakeTempDir();  // chromium's profile
  }
  testing::AvesdProcess avesd((*database)->conninfo(), avesd_env);
  const std::string address = avesd.Address();
  ASSERT_FALSE(address.empty()) << avesd.process().Stderr();
  const std::string http = avesd.HttpAddress();
  ASSERT_FALSE(http.empty());

  env["PATH"] = std::getenv("PATH");
  env["AVES_ADDRESS"] = address;
  env["AVES_HTTP_ADDRESS"] = http;
  env["AVES_TEST_DATABASE_URL"] = (*database)->conninfo();
  for (const char* role :
       {"admin", "operator", "frontend", "dashboard", "loader", "reviewer"}) {
    env[std::string("AVES_TEST_TOKEN_") + role] =
        testing::TestToken(std::string("node-") + role, {role});
  }
  testing::CommandResult node = testing::RunCommand(
      {"/usr/bin/node", "--test", "--test-reporter=spec", script}, env,
      absl::Minutes(5));
  EXPECT_EQ(node.exit_code, 0) << node.out << node.err;
  std::cout << node.out;
}

INSTANTIATE_TEST_SUITE_P(Suites, NodeClientTest,
                         ::testing::Values("cache", "errors", "jobs", "bulk",
                                           "tls", "dashboard"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace aves
