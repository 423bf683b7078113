// Rate limits seen by callers of a real avesd: past a method's limit a call
// is RESOURCE_EXHAUSTED with a google.rpc.RetryInfo, per caller (the token's
// subject, or the peer's host without authentication); the client library
// and avesctl wait the delay out within their deadline; the shipped defaults
// limit the maintenance calls and leave the hot path alone.
#include <fstream>
#include <memory>
#include <string>

#include <absl/time/clock.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "aves/data/v1/admin.grpc.pb.h"
#include "aves/data/v1/exercise_cache.grpc.pb.h"
#include "client/lib/admin_client.h"
#include "client/lib/channel.h"
#include "client/lib/retry.h"
#include "server/auth/rate_limits.h"
#include "tests/support/avesd_process.h"
#include "tests/support/in_process_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"
#include "tests/support/test_tokens.h"

namespace aves {
namespace {

using client::ChannelSecurity;
using ::testing::HasSubstr;

const std::string kSecret = testing::kTestTokenSecret;

std::string Token(const std::string& subject, const std::string& role) {
  return testing::TestToken(subject, {role});
}

std::shared_ptr<grpc::Channel> ChannelAs(const std::string& address,
                                         const std::string& token) {
  ChannelSecurity security;
  security.bearer_token = token;
  return client::MakeChannel(address, security);
}

grpc::Status PoolStats(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = data::v1::AdminService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  data::v1::GetPoolStatsResponse response;
  return stub->GetPoolStats(&context, data::v1::GetPoolStatsRequest(),
                            &response);
}

auth::RateLimitTable Limits(const std::string& setting) {
  absl::StatusOr<auth::RateLimitTable> limits = auth::ParseRateLimits(setting);
  EXPECT_OK(limits);
  return limits.ok() ? *limits : auth::RateLimitTable();
}

class RateLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("ratelimit");
    ASSERT_OK(database);
    database_ = *std::move(database);
    key_file_ = testing::MakeTempDir() + "/jwt.key";
    std::ofstream(key_file_) << kSecret;
  }

  std::unique_ptr<testing::InProcessServer> StartServer(
      const std::string& rate_limits, bool authenticate) {
    auto server = testing::InProcessServer::Start(
        database_->conninfo(), [&](config::Config& config) {
          if (authenticate) config.auth_jwt_key_file = key_file_;
          config.rate_limits = Limits(rate_limits);
        });
    EXPECT_OK(server);
    return server.ok() ? *std::move(server) : nullptr;
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::string key_file_;
};

TEST_F(RateLimitsTest, PastTheLimitACallerIsToldWhenToComeBack) {
  // One call per 5 s, no burst beyond it.
  std::unique_ptr<testing::InProcessServer> server =
      StartServer("AdminService.GetPoolStats=12/min:1", /*authenticate=*/true);
  ASSERT_NE(server, nullptr);
  auto dashboard = ChannelAs(server->address(), Token("dash-1", "dashboard"));
  ASSERT_TRUE(PoolStats(dashboard).ok());
  const grpc::Status refused = PoolStats(dashboard);
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_message();
  EXPECT_THAT(
      refused.error_message(),
      HasSubstr("'dash-1' may call AdminService.GetPoolStats 12/min:1"));
  const std::optional<absl::Duration> delay = client::RetryInfoDelay(refused);
  ASSERT_TRUE(delay.has_value()) << "no google.rpc.RetryInfo detail";
  EXPECT_GT(*delay, absl::ZeroDuration());
  EXPECT_LE(*delay, absl::Seconds(5));
  // Buckets are the caller's own: another subject, even of the same role,
  // still has its token.
  EXPECT_TRUE(
      PoolStats(ChannelAs(server->address(), Token("dash-2", "dashboard")))
          .ok());
  // A caller refused by the policy spends nothing of the bucket.
  EXPECT_EQ(PoolStats(ChannelAs(server->address(), Token("fe-1", "frontend")))
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(RateLimitsTest, TheClientLibraryWaitsTheDelayOutWithinItsDeadline) {
  std::unique_ptr<testing::InProcessServer> server =
      StartServer("AdminService.GetPoolStats=12/min:1", /*authenticate=*/true);
  ASSERT_NE(server, nullptr);
  auto channel = ChannelAs(server->address(), Token("dash-1", "dashboard"));
  ASSERT_TRUE(PoolStats(channel).ok());
  // A deadline shorter than the delay: refused at once, not after sleeping
  // into DEADLINE_EXCEEDED.
  client::AdminClient hurried(channel, client::CallOptions{absl::Seconds(1)});
  EXPECT_THAT(hurried.GetPoolStats(),
              testing::StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("retry in")));
  // Time enough: the client waits for the token and gets its answer. The
  // bucket was emptied under 5 s ago, so success means it waited.
  client::AdminClient patient(channel, client::CallOptions{absl::Seconds(20)});
  const absl::Time start = absl::Now();
  EXPECT_OK(patient.GetPoolStats());
  EXPECT_GE(absl::Now() - start, absl::Seconds(2)) << "it did not wait";
}

TEST_F(RateLimitsTest, WithoutAuthenticationThePeersHostIsTheCaller) {
  std::unique_ptr<testing::InProcessServer> server =
      StartServer("AdminService.GetPoolStats=12/min:1", /*authenticate=*/false);
  ASSERT_NE(server, nullptr);
  ASSERT_TRUE(PoolStats(client::MakeChannel(server->address())).ok());
  // A new connection from the same host shares the bucket.
  const grpc::Status refused =
      PoolStats(client::MakeChannel(server->address()));
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("'ipv4:127.0.0.1'"));
}

TEST_F(RateLimitsTest, TheDefaultsLimitPurgesAndLeaveLookupsUnlimited) {
  std::unique_ptr<testing::InProcessServer> server =
      StartServer("", /*authenticate=*/false);
  ASSERT_NE(server, nullptr);
  auto cache = data::v1::ExerciseCacheService::NewStub(server->channel());
  auto purge = [&] {
    grpc::ClientContext context;
    data::v1::PurgeExpiredRequest request;
    data::v1::PurgeExpiredResponse response;
    return cache->PurgeExpired(&context, request, &response);
  };
  const int burst =
      auth::DefaultRateLimits().at("ExerciseCacheService.PurgeExpired").burst;
  for (int i = 0; i < burst; ++i) {
    EXPECT_TRUE(purge().ok()) << i;
  }
  EXPECT_EQ(purge().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  for (int i = 0; i < 500; ++i) {
    grpc::ClientContext context;
    data::v1::GetExerciseRequest request;
    request.set_user_id("3f1e0c9a-58a4-4d0c-9f5e-2b8c1d7e6a40");
    request.set_exercise_type("identify");
    request.set_difficulty_level(1);
    data::v1::GetExerciseResponse response;
    const grpc::Status status =
        cache->GetExercise(&context, request, &response);
    ASSERT_NE(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << i;
  }
}

// End to end: avesd configured by its environment, avesctl waiting out the
// limit, the refusal in the access log under the caller's name.
TEST_F(RateLimitsTest, AvesctlWaitsOutTheLimitAvesdWasGiven) {
  testing::AvesdProcess avesd(
      database_->conninfo(),
      {{"AVES_AUTH_JWT_KEY_FILE", key_file_},
       {"AVES_RATE_LIMITS", "ExerciseCacheService.PurgeExpired=20/min:1"}});
  const std::string address = avesd.Address();
  ASSERT_FALSE(address.empty());
  const std::map<std::string, std::string> env = {
      {"AVES_TOKEN", Token("operator-7", "operator")}};
  testing::CommandResult first = testing::RunCommand(
      {AVESCTL_PATH, "--addr=" + address, "cache", "purge"}, env);
  EXPECT_EQ(first.exit_code, 0) << first.err;
  testing::CommandResult hurried = testing::RunCommand(
      {AVESCTL_PATH, "--addr=" + address, "--timeout=1", "cache", "purge"},
      env);
  EXPECT_NE(hurried.exit_code, 0);
  EXPECT_THAT(hurried.err, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_THAT(hurried.err, HasSubstr("retry in"));
  testing::CommandResult waited = testing::RunCommand(
      {AVESCTL_PATH, "--addr=" + address, "--timeout=20", "cache", "purge"},
      env);
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_THAT(avesd.process().StderrOnceItHas("RESOURCE_EXHAUSTED"),
              HasSubstr("method=ExerciseCacheService.PurgeExpired "
                        "caller=operator-7"));
}

TEST_F(RateLimitsTest, AvesdPolicyPrintsTheLimitsOrRefusesABadSetting) {
  testing::CommandResult policy = testing::RunCommand(
      {AVESD_PATH, "policy"},
      {{"AVES_RATE_LIMITS", "ExerciseCacheService.GetExercise=2000/s:4000"}});
  EXPECT_EQ(policy.exit_code, 0) << policy.err;
  EXPECT_THAT(policy.out, HasSubstr("ExerciseCacheService.GetExercise"));
  EXPECT_THAT(policy.out, HasSubstr("2000/s:4000 per caller"));
  EXPECT_THAT(policy.out, HasSubstr("AdminService.VerifyIndexes"));
  testing::CommandResult bad = testing::RunCommand(
      {AVESD_PATH, "policy"}, {{"AVES_RATE_LIMITS", "AdminService.Nope=1/s"}});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("no RPC 'AdminService.Nope'"));
}

}  // namespace
}  // namespace aves
