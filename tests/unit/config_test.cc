#include "server/config/config.h"

#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"

namespace aves::config {
namespace {

using ::aves::testing::StatusIs;
using ::testing::HasSubstr;

SettingLookup Fake(std::map<std::string, std::string> values) {
  return OverlayLookup(std::move(values),
                       [](const std::string&) -> std::optional<std::string> {
                         return std::nullopt;
                       });
}

TEST(ConfigTest, DefaultsWhenNothingIsSet) {
  absl::StatusOr<Config> config = LoadConfig(Fake({}));
  ASSERT_OK(config);
  EXPECT_EQ(config->database_url, "");
  EXPECT_EQ(config->listen_address, "127.0.0.1:50051");
  EXPECT_EQ(config->log_level, "info");
  EXPECT_EQ(config->health_interval, absl::Seconds(1));
  EXPECT_EQ(config->shutdown_grace, absl::Seconds(10));
}

TEST(ConfigTest, ReadsEverySetting) {
  absl::StatusOr<Config> config =
      LoadConfig(Fake({{"DATABASE_URL", "postgresql:///x"},
                       {"AVES_LISTEN", "0.0.0.0:6000"},
                       {"AVES_LOG_LEVEL", "debug"},
                       {"AVES_HEALTH_INTERVAL_MS", "250"},
                       {"AVES_SHUTDOWN_GRACE_MS", "0"}}));
  ASSERT_OK(config);
  EXPECT_EQ(config->database_url, "postgresql:///x");
  EXPECT_EQ(config->listen_address, "0.0.0.0:6000");
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->health_interval, absl::Milliseconds(250));
  EXPECT_EQ(config->shutdown_grace, absl::ZeroDuration());
}

TEST(ConfigTest, OverridesWinOverTheFallback) {
  SettingLookup env = Fake({{"AVES_LISTEN", "1.2.3.4:1"}});
  absl::StatusOr<Config> config =
      LoadConfig(OverlayLookup({{"AVES_LISTEN", "5.6.7.8:2"}}, env));
  ASSERT_OK(config);
  EXPECT_EQ(config->listen_address, "5.6.7.8:2");
}

TEST(ConfigTest, RejectsNonNumbersNamingTheVariable) {
  EXPECT_THAT(
      LoadConfig(Fake({{"AVES_HEALTH_INTERVAL_MS", "soon"}})),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          HasSubstr("AVES_HEALTH_INTERVAL_MS: 'soon' is not a whole number")));
}

TEST(ConfigTest, RejectsOutOfRangeNamingTheVariable) {
  EXPECT_THAT(LoadConfig(Fake({{"AVES_SHUTDOWN_GRACE_MS", "-1"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_SHUTDOWN_GRACE_MS")));
  EXPECT_THAT(LoadConfig(Fake({{"AVES_HEALTH_INTERVAL_MS", "10"}})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_HEALTH_INTERVAL_MS")));
}

TEST(ConfigTest, RejectsListenWithoutPort) {
  EXPECT_THAT(
      LoadConfig(Fake({{"AVES_LISTEN", "localhost"}})),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("AVES_LISTEN")));
}

}  // namespace
}  // namespace aves::config
