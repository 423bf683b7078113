// The Node/TypeScript client (client/node) against a real avesd, with
// authentication on, on its own migrated database: each suite of the
// package's tests (node's own test runner, client/node/test/*.test.ts, built
// by scripts/test into client/node/dist) runs here as one test, so ctest
// runs them beside the rest and each gets a fresh database and avesd.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/avesd_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"
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
  testing::AvesdProcess avesd((*database)->conninfo(),
                              {{"AVES_AUTH_JWT_KEY_FILE", key_file},
                               {"AVES_FEED_HEARTBEAT_MS", "500"}});
  const std::string address = avesd.Address();
  ASSERT_FALSE(address.empty()) << avesd.process().Stderr();
  const std::string http = avesd.HttpAddress();
  ASSERT_FALSE(http.empty());

  std::map<std::string, std::string> env = {
      {"PATH", std::getenv("PATH")},
      {"AVES_ADDRESS", address},
      {"AVES_HTTP_ADDRESS", http},
      {"AVES_TEST_DATABASE_URL", (*database)->conninfo()},
  };
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
                         ::testing::Values("cache", "errors", "jobs", "bulk"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace aves
