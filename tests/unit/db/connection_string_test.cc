#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/db/connection.h"

namespace aves::db {
namespace {

TEST(ConnectionStringTest, AddsApplicationNameToUri) {
  EXPECT_EQ(WithApplicationName("postgresql://u:p@h:5/db", "avesd"),
            "postgresql://u:p@h:5/db?application_name=avesd");
  EXPECT_EQ(
      WithApplicationName("postgres://h/db?sslmode=disable", "avesd-migrate"),
      "postgres://h/db?sslmode=disable&application_name=avesd-migrate");
}

TEST(ConnectionStringTest, ReplacesAnExistingUriParameter) {
  EXPECT_EQ(WithApplicationName("postgresql://h/db?application_name=old&x=1",
                                "avesd"),
            "postgresql://h/db?x=1&application_name=avesd");
}

TEST(ConnectionStringTest, AppendsToKeywordValueStrings) {
  EXPECT_EQ(WithApplicationName("host=h dbname=db", "avesd"),
            "host=h dbname=db application_name='avesd'");
  EXPECT_EQ(WithApplicationName("", "avesd"), "application_name='avesd'");
  EXPECT_EQ(WithConnectionParameter("host=h", "application_name", "it's"),
            "host=h application_name='it\\'s'");
}

TEST(ConnectionStringTest, SwitchesDatabase) {
  EXPECT_EQ(WithDatabase("postgresql://u:p@h:5/aves?x=1", "other"),
            "postgresql://u:p@h:5/other?x=1");
  EXPECT_EQ(WithDatabase("postgresql://u@h:5", "other"),
            "postgresql://u@h:5/other");
  EXPECT_EQ(WithDatabase("postgresql://h:5?x=1", "a b"),
            "postgresql://h:5/a%20b?x=1");
  EXPECT_EQ(WithDatabase("host=h dbname=aves", "other"),
            "host=h dbname=aves dbname='other'");
}

TEST(ConnectionStringTest, ConnectTimeoutsAreWholeSecondsAndAtLeastTwo) {
  EXPECT_EQ(WithConnectTimeout("host=h", absl::Milliseconds(1)),
            "host=h connect_timeout='2'");
  EXPECT_EQ(WithConnectTimeout("host=h", absl::Milliseconds(2500)),
            "host=h connect_timeout='3'");
  EXPECT_EQ(WithConnectTimeout("postgresql://h/db", absl::Seconds(5)),
            "postgresql://h/db?connect_timeout=5");
}

TEST(ConnectionStringTest, RedactsPasswords) {
  EXPECT_EQ(RedactConnectionString("postgresql://aves:s3cret@127.0.0.1:5/aves"),
            "postgresql://aves:***@127.0.0.1:5/aves");
  EXPECT_EQ(RedactConnectionString("host=h password='a b' user=u"),
            "host=h password=*** user=u");
  EXPECT_EQ(RedactConnectionString("postgresql://h/db?password=x&y=1"),
            "postgresql://h/db?password=***&y=1");
  EXPECT_EQ(RedactConnectionString("postgresql://aves@h/db"),
            "postgresql://aves@h/db");
  // Before: a raw '?' or '/' in the password ended the match, and the
  // password stayed in the text.
  EXPECT_EQ(RedactConnectionString("postgresql://aves:pa?ss@h/db"),
            "postgresql://aves:***@h/db");
  EXPECT_EQ(RedactConnectionString("postgresql://aves:a/b@c@h/db"),
            "postgresql://aves:***@h/db");
  EXPECT_EQ(
      RedactConnectionString("invalid percent-encoded token: \"s3%zzcret\""),
      "invalid percent-encoded token: \"***\"");
}

TEST(ConnectionStringTest, LibpqsOwnMessagesHideTheBadToken) {
  // A password with a stray '%' fails libpq's URI parser, which quotes it.
  auto connection =
      Connect("postgresql://aves:se%zzcret@127.0.0.1:1/aves", "aves-tests");
  ASSERT_FALSE(connection.ok());
  EXPECT_THAT(std::string(connection.status().message()),
              ::testing::Not(::testing::HasSubstr("zzcret")));
}

TEST(ConnectionStringTest, ConnectFailureIsUnavailableAndHidesThePassword) {
  // Port 1 on loopback: nothing listens there.
  auto connection =
      Connect("postgresql://aves:topsecret@127.0.0.1:1/aves?connect_timeout=2",
              kServerApplicationName);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(connection.status().message()),
              ::testing::HasSubstr("unreachable"));
  EXPECT_THAT(std::string(connection.status().message()),
              ::testing::Not(::testing::HasSubstr("topsecret")));
}

}  // namespace
}  // namespace aves::db
