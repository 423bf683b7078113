// The dashboard's HTTP side (app/dashboard_api, app/http_endpoint) with
// authentication off, as `scripts/run` serves it: the page and its files,
// the API as the RPCs in protobuf JSON, and every refusal before an RPC.
// The page itself, in a browser and with tokens, is client/node/test/
// dashboard.test.ts.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/http_get.h"
#include "tests/support/in_process_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_database.h"

namespace aves {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class DashboardApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("dashboard_api");
    ASSERT_OK(database);
    database_ = *std::move(database);
    auto server = testing::InProcessServer::Start(database_->conninfo());
    ASSERT_OK(server);
    server_ = *std::move(server);
  }

  testing::HttpAnswer Send(testing::HttpRequest request) {
    return testing::HttpSend(server_->http_address(), request);
  }
  testing::HttpAnswer Get(
      const std::string& path,
      std::vector<std::pair<std::string, std::string>> headers = {}) {
    testing::HttpRequest request;
    request.path = path;
    request.headers = std::move(headers);
    return Send(std::move(request));
  }
  testing::HttpAnswer Post(const std::string& method, const std::string& body) {
    return Send({"POST",
                 "/api/" + method,
                 {{"Content-Type", "application/json"}},
                 body});
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::unique_ptr<testing::InProcessServer> server_;
};

TEST_F(DashboardApiTest, ThePageAndItsFilesAreEmbeddedAndLockedDown) {
  const testing::HttpAnswer page = Get("/");
  ASSERT_EQ(page.status, 200);
  EXPECT_THAT(page.Header("Content-Type"), HasSubstr("text/html"));
  EXPECT_THAT(page.body, HasSubstr("/static/dashboard.js"));
  EXPECT_THAT(page.Header("Content-Security-Policy"),
              HasSubstr("default-src 'self'"));
  EXPECT_THAT(page.Header("Content-Security-Policy"),
              HasSubstr("frame-ancestors 'none'"));
  EXPECT_EQ(page.Header("X-Content-Type-Options"), "nosniff");

  const testing::HttpAnswer chart = Get("/static/chart.min.js");
  ASSERT_EQ(chart.status, 200);
  EXPECT_THAT(chart.Header("Content-Type"), HasSubstr("text/javascript"));
  EXPECT_THAT(chart.body, HasSubstr("Chart"));
  EXPECT_EQ(Get("/static/nope.js").status, 404);
  EXPECT_EQ(Get("/static/..%2Fmigrations").status, 404);
}

TEST_F(DashboardApiTest, AnApiCallIsTheRpcInProtobufJson) {
  const testing::HttpAnswer pool = Post("AdminService/GetPoolStats", "{}");
  ASSERT_EQ(pool.status, 200) << pool.body;
  EXPECT_THAT(pool.Header("Content-Type"), HasSubstr("application/json"));
  EXPECT_THAT(pool.body, HasSubstr("\"databaseReachable\":true"));
  EXPECT_EQ(pool.Header("Cache-Control"), "no-store");
  // A read answers a GET as well; the listing names the methods.
  const testing::HttpAnswer health = Get("/api/Health/Check");
  EXPECT_EQ(health.status, 200);
  EXPECT_THAT(health.body, HasSubstr("\"status\":"));
  const testing::HttpAnswer listing = Get("/api");
  EXPECT_THAT(listing.body, HasSubstr("\"AdminService/ReindexIndex\""));
  EXPECT_THAT(listing.body, HasSubstr("\"authentication\":false"));
  // The request's fields reach the RPC, which checks them as always.
  const testing::HttpAnswer job =
      Post("BatchJobService/GetJob",
           "{\"id\":\"00000000-0000-4000-8000-0000000000aa\"}");
  EXPECT_EQ(job.status, 404) << job.body;
  EXPECT_THAT(job.body, HasSubstr("\"code\": \"NOT_FOUND\""));
  const testing::HttpAnswer bad_id =
      Post("BatchJobService/GetJob", "{\"id\":\"x\"}");
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_THAT(bad_id.body, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(bad_id.body, HasSubstr("\"message\": \"id: "));
}

TEST_F(DashboardApiTest, WhatIsNotAnRpcCallIsRefusedBeforeOne) {
  // Not JSON, or JSON of other fields: the caller's mistake, named.
  const testing::HttpAnswer garbage = Post("AdminService/GetRpcStats", "{");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_THAT(garbage.body, HasSubstr("request body"));
  const testing::HttpAnswer unknown_field =
      Post("AdminService/GetRpcStats", "{\"windowz\":\"1s\"}");
  EXPECT_EQ(unknown_field.status, 400);
  EXPECT_THAT(unknown_field.body, HasSubstr("windowz"));
  // Methods off the list, whatever they are.
  const testing::HttpAnswer create = Post("BatchJobService/CreateJob", "{}");
  EXPECT_EQ(create.status, 404);
  EXPECT_THAT(create.body, Not(HasSubstr("CreateJob")));
  // An action only by a JSON POST: not a link, not a form.
  EXPECT_EQ(Get("/api/AdminService/RunAnalyze").status, 405);
  EXPECT_EQ(Send({"POST",
                  "/api/AdminService/RunAnalyze",
                  {{"Content-Type", "application/x-www-form-urlencoded"}},
                  "table=users"})
                .status,
            415);
  // An index of no table of ours, named by the caller: INVALID_ARGUMENT,
  // not echoed.
  const testing::HttpAnswer reindex =
      Post("AdminService/ReindexIndex", "{\"index\":\"pg_class_oid_index\"}");
  EXPECT_EQ(reindex.status, 400);
  EXPECT_THAT(reindex.body, HasSubstr("\"message\": \"index: "));
  EXPECT_THAT(reindex.body, Not(HasSubstr("pg_class_oid_index")));
}

TEST_F(DashboardApiTest, WithoutAuthenticationOnlyLoopbackNamesReachTheApi) {
  // A site whose DNS name points at 127.0.0.1 (DNS rebinding) is refused.
  const testing::HttpAnswer rebound = Get("/api/AdminService/GetPoolStats",
                                          {{"Host", "attacker.example:9464"}});
  EXPECT_EQ(rebound.status, 403);
  EXPECT_THAT(rebound.body, HasSubstr("loopback"));
  EXPECT_EQ(Get("/api", {{"Host", "attacker.example"}}).status, 403);
  for (const char* host : {"localhost:9464", "127.0.0.1", "[::1]:9464"}) {
    EXPECT_EQ(Get("/api/AdminService/GetPoolStats", {{"Host", host}}).status,
              200)
        << host;
  }
  // The page carries no data: it loads by any name, and then shows the
  // refusal.
  EXPECT_EQ(Get("/", {{"Host", "attacker.example"}}).status, 200);
}

}  // namespace
}  // namespace aves
