// avesctl's command line: global options anywhere, the command's words, its
// --name=value options, and clear refusals.
#include "client/cli/arguments.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace aves::cli {
namespace {

using ::testing::ElementsAre;

ParsedArguments Parse(std::vector<std::string> args) {
  return ParseArguments(args, "localhost:50051");
}

TEST(ArgumentsTest, GlobalOptionsWordsAndCommandOptions) {
  ParsedArguments parsed =
      Parse({"jobs", "--json", "list", "--status=pending,failed",
             "--addr=10.0.0.2:7000", "--timeout=1.5", "--page-size=5"});
  ASSERT_TRUE(parsed.invocation.has_value()) << parsed.error;
  const Invocation& invocation = *parsed.invocation;
  EXPECT_EQ(invocation.address, "10.0.0.2:7000");
  EXPECT_EQ(invocation.timeout, absl::Milliseconds(1500));
  EXPECT_TRUE(invocation.json);
  EXPECT_THAT(invocation.words, ElementsAre("jobs", "list"));
  EXPECT_EQ(invocation.options.Get("status"), "pending,failed");
  EXPECT_TRUE(invocation.options.Only({"status", "page-size"}));
  int page_size = 0;
  EXPECT_TRUE(invocation.options.Int("page-size", &page_size));
  EXPECT_EQ(page_size, 5);
  EXPECT_EQ(invocation.options.Get("type"), "");
}

TEST(ArgumentsTest, DefaultsAndSwitches) {
  ParsedArguments parsed = Parse({"load", "--atomic", "rows.csv"});
  ASSERT_TRUE(parsed.invocation.has_value());
  EXPECT_EQ(parsed.invocation->address, "localhost:50051");
  EXPECT_EQ(parsed.invocation->timeout, absl::Seconds(5));
  EXPECT_EQ(parsed.invocation->options.Get("atomic"), "true");
  EXPECT_THAT(parsed.invocation->words, ElementsAre("load", "rows.csv"));
  EXPECT_TRUE(Parse({"health", "--help"}).help);
  EXPECT_TRUE(Parse({"-h"}).help);
}

TEST(ArgumentsTest, ATokenFlagBeatsEitherTokenOfTheEnvironment) {
  TlsFlags environment;
  environment.token = "env-token";
  environment.token_file = "/env/token";
  ParsedArguments by_flag = ParseArguments({"pool", "--token=flag-token"},
                                           "localhost:1", environment);
  ASSERT_TRUE(by_flag.invocation.has_value());
  EXPECT_EQ(by_flag.invocation->tls.token, "flag-token");
  EXPECT_EQ(by_flag.invocation->tls.token_file, "");
  ParsedArguments by_file = ParseArguments({"pool", "--token-file=/my/token"},
                                           "localhost:1", environment);
  ASSERT_TRUE(by_file.invocation.has_value());
  EXPECT_EQ(by_file.invocation->tls.token_file, "/my/token");
  EXPECT_EQ(by_file.invocation->tls.token, "");
  ParsedArguments neither =
      ParseArguments({"pool"}, "localhost:1", environment);
  ASSERT_TRUE(neither.invocation.has_value());
  EXPECT_EQ(neither.invocation->tls.token_file, "/env/token")
      << "without a flag, the environment's file";
}

TEST(ArgumentsTest, BadArgumentsAreRefusedAndNamed) {
  ParsedArguments timeout = Parse({"pool", "--timeout=0"});
  EXPECT_FALSE(timeout.invocation.has_value());
  EXPECT_EQ(timeout.error, "--timeout wants a positive number of seconds");
  EXPECT_FALSE(timeout.show_usage);
  ParsedArguments unknown = Parse({"pool", "-x"});
  EXPECT_FALSE(unknown.invocation.has_value());
  EXPECT_EQ(unknown.error, "unknown option -x");
  EXPECT_TRUE(unknown.show_usage);
  ParsedArguments options = Parse({"cache", "get", "--user=u", "--bogus=1"});
  ASSERT_TRUE(options.invocation.has_value());
  EXPECT_FALSE(options.invocation->options.Only({"user"}));
  int n = 0;
  ParsedArguments number = Parse({"jobs", "list", "--page-size=ten"});
  EXPECT_FALSE(number.invocation->options.Int("page-size", &n));
}

}  // namespace
}  // namespace aves::cli
