// Authentication and the policy table, seen by callers of a real avesd (in
// process, on a real PostgreSQL): every RPC of our services called with a
// token of every role, without one, with a bad one; client certificates
// mapped to roles under mutual TLS; avesctl with a token file.
#include <fstream>
#include <future>
#include <memory>
#include <string>

#include <absl/strings/ascii.h>
#include <absl/strings/str_cat.h>
#include <absl/time/clock.h>
#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "aves/data/v1/annotations.grpc.pb.h"
#include "aves/data/v1/batch_jobs.grpc.pb.h"
#include "aves/data/v1/bulk_insert.grpc.pb.h"
#include "client/lib/channel.h"
#include "client/lib/health_client.h"
#include "server/app/server.h"
#include "server/auth/policy.h"
#include "server/auth/roles.h"
#include "server/auth/token_verifier.h"
#include "server/db/migration_file.h"
#include "tests/support/avesd_process.h"
#include "tests/support/in_process_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"
#include "tests/support/test_pki.h"
#include "tests/support/test_tokens.h"

namespace aves {
namespace {

using auth::Role;
using auth::RoleSet;
using client::ChannelSecurity;
using ::testing::HasSubstr;

const std::string kSecret = testing::kTestTokenSecret;

std::string Token(const std::string& subject, std::vector<std::string> roles,
                  absl::Duration ttl = absl::Minutes(10)) {
  return testing::TestToken(subject, std::move(roles), ttl);
}

ChannelSecurity Bearer(const std::string& token) {
  ChannelSecurity security;
  security.bearer_token = token;
  return security;
}

// An empty protobuf message (zero bytes) as a payload.
grpc::ByteBuffer EmptyMessage() {
  grpc::Slice nothing("");
  return grpc::ByteBuffer(&nothing, 1);
}

// Calls `method` ("pkg.Service/Method") with an empty request and returns
// the status: our services' gates come before their requests are read, so
// one empty request per RPC tells whether the caller got past the gate.
grpc::Status Call(const std::shared_ptr<grpc::Channel>& channel,
                  const std::string& method) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(3));
  if (method == "aves.data.v1.BatchJobService/WatchJobs") {
    auto stub = data::v1::BatchJobService::NewStub(channel);
    data::v1::WatchJobsRequest request;
    auto reader = stub->WatchJobs(&context, request);
    data::v1::WatchJobsResponse response;
    // A watcher that got in reads its snapshot; stop there.
    if (reader->Read(&response)) context.TryCancel();
    return reader->Finish();
  }
  if (method == "aves.data.v1.BulkInsertService/Insert") {
    auto stub = data::v1::BulkInsertService::NewStub(channel);
    auto stream = stub->Insert(&context);
    stream->WritesDone();
    data::v1::InsertResponse response;
    while (stream->Read(&response)) {
    }
    return stream->Finish();
  }
  grpc::GenericStub stub(channel);
  grpc::ByteBuffer request = EmptyMessage();
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(
      &context, "/" + method, grpc::StubOptions(), &request, &response,
      [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

class AuthorizationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("authz");
    ASSERT_OK(database);
    database_ = *std::move(database);
    key_file_ = testing::MakeTempDir() + "/jwt.key";
    // A trailing line break, as `openssl rand -base64` writes one.
    std::ofstream(key_file_) << kSecret << "\n";
  }

  std::unique_ptr<testing::InProcessServer> StartServer(
      const std::function<void(config::Config&)>& adjust = {},
      const ChannelSecurity& health_client = {}) {
    auto server = testing::InProcessServer::Start(
        database_->conninfo(),
        [&](config::Config& config) {
          config.auth_jwt_key_file = key_file_;
          if (adjust) adjust(config);
        },
        health_client);
    EXPECT_OK(server);
    return server.ok() ? *std::move(server) : nullptr;
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::string key_file_;
};

TEST_F(AuthorizationTest, EachRoleGetsPastTheGateOfExactlyItsRpcs) {
  std::unique_ptr<testing::InProcessServer> server = StartServer();
  ASSERT_NE(server, nullptr);
  for (Role role : auth::AllRoles()) {
    const std::string name(auth::RoleName(role));
    auto channel = client::MakeChannel(
        server->address(), Bearer(Token(absl::StrCat(name, "-1"), {name})));
    for (const auth::MethodRule& rule : auth::PolicyTable()) {
      const bool allowed = auth::RolesAllowed(rule.method).Has(role);
      const grpc::Status status = Call(channel, rule.method);
      if (allowed) {
        EXPECT_NE(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << name << " " << rule.method << ": " << status.error_message();
        EXPECT_NE(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
            << name << " " << rule.method;
      } else {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << name << " " << rule.method << ": " << status.error_message();
        EXPECT_THAT(status.error_message(),
                    HasSubstr(absl::StrCat("'", name, "-1'")));
      }
    }
  }
}

TEST_F(AuthorizationTest, ACallWithoutValidCredentialsIsUnauthenticated) {
  std::unique_ptr<testing::InProcessServer> server = StartServer();
  ASSERT_NE(server, nullptr);
  auto anonymous = client::MakeChannel(server->address());
  auto expired = client::MakeChannel(
      server->address(), Bearer(Token("late", {"admin"}, -absl::Minutes(5))));
  auth::TokenClaims foreign_claims;
  foreign_claims.subject = "mallory";
  foreign_claims.roles = {"admin"};
  foreign_claims.issued_at = absl::Now();
  foreign_claims.expires = absl::Now() + absl::Hours(1);
  auto foreign_token = auth::MintToken(auth::Algorithm::kHs256,
                                       std::string(48, 'm'), foreign_claims);
  ASSERT_OK(foreign_token);
  auto forged = client::MakeChannel(server->address(), Bearer(*foreign_token));
  for (const auth::MethodRule& rule : auth::PolicyTable()) {
    for (const auto& channel : {anonymous, expired, forged}) {
      EXPECT_EQ(Call(channel, rule.method).error_code(),
                grpc::StatusCode::UNAUTHENTICATED)
          << rule.method;
    }
  }
  // Health stays open: orchestrators probe without credentials.
  client::HealthClient health(anonymous, client::CallOptions{absl::Seconds(5)});
  EXPECT_THAT(health.Check(""),
              testing::IsOkAndHolds(client::ServingStatus::kServing));
}

TEST_F(AuthorizationTest, TheAuthorizationHeaderMustBeOneBearerToken) {
  std::unique_ptr<testing::InProcessServer> server = StartServer();
  ASSERT_NE(server, nullptr);
  auto channel = client::MakeChannel(server->address());
  const std::string token = Token("admin-1", {"admin"});
  const std::string method = "/aves.data.v1.AdminService/GetPoolStats";
  auto call = [&](const std::vector<std::string>& headers) {
    grpc::ClientContext context;
    for (const std::string& header : headers)
      context.AddMetadata("authorization", header);
    grpc::GenericStub stub(channel);
    grpc::ByteBuffer request = EmptyMessage(), response;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                   [&done](grpc::Status status) { done.set_value(status); });
    return done.get_future().get();
  };
  EXPECT_TRUE(call({"Bearer " + token}).ok());
  EXPECT_TRUE(call({"bearer " + token}).ok()) << "the scheme ignores case";
  EXPECT_EQ(call({"Basic YWRtaW46YWRtaW4="}).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call({"Bearer "}).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call({"Bearer    "}).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(call({"Bearer " + token, "Bearer " + token}).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // A token naming none of our roles authenticates and may call nothing.
  grpc::Status stranger = call({"Bearer " + Token("x", {"postgres"})});
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(stranger.error_message(), HasSubstr("(none)"));
}

// The status of a reflection stream that sends nothing: OK when the
// service is there (it answers until the client is done), UNIMPLEMENTED when
// it is not.
grpc::Status ReflectionStatus(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  auto call = stub.PrepareCall(
      &context,
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &queue);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  queue.Next(&tag, &ok);
  call->WritesDone(reinterpret_cast<void*>(2));
  queue.Next(&tag, &ok);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(3));
  queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  return status;
}

TEST_F(AuthorizationTest, ReflectionIsServedOnlyWhenSwitchedOn) {
  const ChannelSecurity admin = Bearer(Token("admin-1", {"admin"}));
  std::unique_ptr<testing::InProcessServer> off =
      StartServer([](config::Config& config) {
        config.reflection = config::Config::Reflection::kOff;
      });
  ASSERT_NE(off, nullptr);
  EXPECT_EQ(
      ReflectionStatus(client::MakeChannel(off->address(), admin)).error_code(),
      grpc::StatusCode::UNIMPLEMENTED);
  std::unique_ptr<testing::InProcessServer> on =
      StartServer([](config::Config& config) {
        config.reflection = config::Config::Reflection::kOn;
      });
  ASSERT_NE(on, nullptr);
  EXPECT_TRUE(ReflectionStatus(client::MakeChannel(on->address())).ok())
      << "on: open to anyone";
}

// The default with authentication: reflection behind the gate, admin only.
TEST_F(AuthorizationTest, ReflectionIsAdminOnlyByDefaultWithAuthentication) {
  std::unique_ptr<testing::InProcessServer> server =
      StartServer([](config::Config& config) {
        config.reflection = config::Config::Reflection::kAdmin;
      });
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(
      ReflectionStatus(client::MakeChannel(server->address(),
                                           Bearer(Token("admin-1", {"admin"}))))
          .ok());
  const grpc::Status operator_status = ReflectionStatus(client::MakeChannel(
      server->address(), Bearer(Token("ops-1", {"operator", "dashboard"}))));
  EXPECT_EQ(operator_status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << operator_status.error_message();
  EXPECT_THAT(operator_status.error_message(), HasSubstr("needs admin"));
  EXPECT_EQ(
      ReflectionStatus(client::MakeChannel(server->address())).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  // The gate is on reflection alone: the services answer as before.
  EXPECT_TRUE(Call(client::MakeChannel(server->address(),
                                       Bearer(Token("ops-1", {"operator"}))),
                   "aves.data.v1.AdminService/GetPoolStats")
                  .ok());
}

TEST_F(AuthorizationTest, AMappedClientCertificateActsWithItsRoles) {
  auto ca = testing::TestPki::Create("aves-authz-ca");
  ASSERT_OK(ca);
  auto server_cert = ca->Issue("avesd");
  ASSERT_OK(server_cert);
  auto dashboard = ca->Issue("dashboard-box");
  ASSERT_OK(dashboard);
  auto unmapped = ca->Issue("someone-else");
  ASSERT_OK(unmapped);
  auto trusting = [&](const testing::IssuedCertificate* cert) {
    auto security = ChannelSecurity::FromFiles(
        true, ca->ca_cert_file(), cert ? cert->cert_file : "",
        cert ? cert->key_file : "", "localhost");
    EXPECT_OK(security);
    return security.ok() ? *security : ChannelSecurity{};
  };
  std::unique_ptr<testing::InProcessServer> server = StartServer(
      [&](config::Config& config) {
        config.tls_cert_file = server_cert->cert_file;
        config.tls_key_file = server_cert->key_file;
        config.tls_client_ca_file = ca->ca_cert_file();
        config.tls_client_auth = config::Config::ClientAuth::kRequest;
        config.auth_certificate_roles["dashboard-box"] =
            RoleSet{Role::kDashboard};
      },
      trusting(nullptr));
  ASSERT_NE(server, nullptr);
  auto as_dashboard =
      client::MakeChannel(server->address(), trusting(&*dashboard));
  EXPECT_TRUE(Call(as_dashboard, "aves.data.v1.BatchJobService/ListJobs").ok());
  EXPECT_EQ(
      Call(as_dashboard, "aves.data.v1.BatchJobService/CreateJob").error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  auto as_stranger =
      client::MakeChannel(server->address(), trusting(&*unmapped));
  grpc::Status stranger =
      Call(as_stranger, "aves.data.v1.BatchJobService/ListJobs");
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(stranger.error_message(), HasSubstr("someone-else"));
  // A token decides over the certificate it travels with.
  ChannelSecurity narrowed = trusting(&*dashboard);
  narrowed.bearer_token = Token("loader-2", {"loader"});
  auto as_loader = client::MakeChannel(server->address(), narrowed);
  EXPECT_EQ(
      Call(as_loader, "aves.data.v1.BatchJobService/ListJobs").error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AuthorizationTest, AvesctlSendsTheTokenOfItsFileOrEnvironment) {
  std::unique_ptr<testing::InProcessServer> server = StartServer();
  ASSERT_NE(server, nullptr);
  const std::string token_file = testing::MakeTempDir() + "/token";
  std::ofstream(token_file) << Token("operator-1", {"operator"}) << "\n";
  testing::CommandResult pool =
      testing::RunCommand({AVESCTL_PATH, "--addr=" + server->address(),
                           "--token-file=" + token_file, "pool"});
  EXPECT_EQ(pool.exit_code, 0) << pool.err;
  EXPECT_THAT(pool.out, HasSubstr("max"));
  testing::CommandResult by_env =
      testing::RunCommand({AVESCTL_PATH, "annotations", "image",
                           "--image=00000000-0000-4000-8000-000000000001"},
                          {{"AVES_ADDR", server->address()},
                           {"AVES_TOKEN", Token("operator-1", {"operator"})}});
  EXPECT_NE(by_env.exit_code, 0);
  EXPECT_THAT(by_env.err, HasSubstr("PERMISSION_DENIED"));
  testing::CommandResult without = testing::RunCommand(
      {AVESCTL_PATH, "--addr=" + server->address(), "pool"});
  EXPECT_NE(without.exit_code, 0);
  EXPECT_THAT(without.err, HasSubstr("UNAUTHENTICATED"));
}

TEST_F(AuthorizationTest, AvesdMintsTokensItsVerifierAccepts) {
  testing::CommandResult minted = testing::RunCommand(
      {AVESD_PATH, "token", "--subject=ci-loader", "--role=loader", "--ttl=5m"},
      {{"AVES_AUTH_JWT_KEY_FILE", key_file_}});
  ASSERT_EQ(minted.exit_code, 0) << minted.err;
  auto verifier = auth::TokenVerifier::Create(
      auth::KeyOptions(auth::Algorithm::kHs256, kSecret));
  ASSERT_OK(verifier);
  auto verified = verifier->Verify(
      std::string(absl::StripAsciiWhitespace(minted.out)), absl::Now());
  ASSERT_OK(verified);
  EXPECT_EQ(verified->subject, "ci-loader");
  EXPECT_EQ(verified->roles, RoleSet{Role::kLoader});
  testing::CommandResult policy = testing::RunCommand({AVESD_PATH, "policy"});
  EXPECT_EQ(policy.exit_code, 0);
  EXPECT_THAT(policy.out, HasSubstr("aves.data.v1.BulkInsertService/Insert"));
}

// With authentication a review is recorded under the caller's subject: an
// empty reviewer is filled in, another name is refused and changes nothing.
TEST_F(AuthorizationTest, AReviewIsRecordedUnderTheAuthenticatedCaller) {
  auto sql = database_->Connect();
  pqxx::nontransaction tx(*sql);
  const std::string image =
      tx.exec1(
            "INSERT INTO images (url) VALUES ('https://x/1.jpg') RETURNING id")
          [0]
              .as<std::string>();
  pqxx::result annotations = tx.exec_params(
      "INSERT INTO ai_annotation_items (image_id, spanish_term, english_term, "
      "bounding_box, annotation_type, confidence) SELECT $1, 'el pico', "
      "'beak', '{}', 'anatomy', 0.9 FROM generate_series(1, 2) RETURNING id",
      image);
  std::unique_ptr<testing::InProcessServer> server = StartServer();
  ASSERT_NE(server, nullptr);
  auto stub = data::v1::AnnotationService::NewStub(client::MakeChannel(
      server->address(), Bearer(Token("reviewer-ana", {"reviewer"}))));
  auto review = [&](const std::string& id, const std::string& reviewer) {
    data::v1::ReviewAnnotationRequest request;
    request.set_id(id);
    request.set_decision(data::v1::REVIEW_DECISION_APPROVE);
    request.set_expected_status(data::v1::ANNOTATION_STATUS_PENDING);
    request.set_reviewer(reviewer);
    data::v1::ReviewAnnotationResponse response;
    grpc::ClientContext context;
    return stub->ReviewAnnotation(&context, request, &response);
  };
  const std::string first = annotations[0][0].as<std::string>();
  const std::string second = annotations[1][0].as<std::string>();
  grpc::Status impersonating = review(first, "reviewer-bob");
  EXPECT_EQ(impersonating.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(impersonating.error_message(), HasSubstr("reviewer-bob"));
  EXPECT_EQ(
      tx.exec_params1("SELECT status FROM ai_annotation_items WHERE id = $1",
                      first)[0]
          .as<std::string>(),
      "pending");
  EXPECT_TRUE(review(first, "").ok());
  EXPECT_TRUE(review(second, "reviewer-ana").ok());
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM ai_annotation_items WHERE "
                     "reviewed_by = 'reviewer-ana' AND status = 'approved'")[0]
                .as<int>(),
            2);
}

TEST_F(AuthorizationTest, ALoaderLoadsUsersOnlyWhenConfiguredAndAdminsAlways) {
  const std::string users = AVES_SOURCE_DIR "/demo/users.csv";
  const std::string vocabulary = AVES_SOURCE_DIR "/demo/vocabulary.csv";
  auto load = [&](const std::string& address, const std::string& role,
                  const std::string& table, const std::string& file) {
    return testing::RunCommand({AVESCTL_PATH, "--addr=" + address, "load",
                                "--table=" + table, "--atomic", file},
                               {{"AVES_TOKEN", Token(role + "-1", {role})}});
  };
  auto sql = database_->Connect();
  auto count = [&](const std::string& table) {
    return pqxx::nontransaction(*sql)
        .exec1("SELECT count(*) FROM " + table)[0]
        .as<int>();
  };
  {
    std::unique_ptr<testing::InProcessServer> server = StartServer();
    ASSERT_NE(server, nullptr);
    testing::CommandResult refused =
        load(server->address(), "loader", "users", users);
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_THAT(refused.err, HasSubstr("PERMISSION_DENIED"));
    EXPECT_THAT(refused.err, HasSubstr("AVES_BULK_LOADER_TABLES"));
    EXPECT_EQ(count("users"), 0);
    EXPECT_EQ(count("batch_jobs"), 0) << "refused before a load exists";
    testing::CommandResult words =
        load(server->address(), "loader", "vocabulary", vocabulary);
    EXPECT_EQ(words.exit_code, 0) << words.err;
    EXPECT_GT(count("vocabulary"), 0);
    testing::CommandResult by_admin =
        load(server->address(), "admin", "users", users);
    EXPECT_EQ(by_admin.exit_code, 0) << by_admin.err;
    EXPECT_GT(count("users"), 0);
  }
  pqxx::nontransaction(*sql).exec("TRUNCATE users CASCADE");
  std::unique_ptr<testing::InProcessServer> configured =
      StartServer([](config::Config& config) {
        config.bulk_loader_tables = {"users", "vocabulary"};
      });
  ASSERT_NE(configured, nullptr);
  testing::CommandResult allowed =
      load(configured->address(), "loader", "users", users);
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_GT(count("users"), 0);
}

TEST_F(AuthorizationTest, ABulkLoadsJobMovesOnlyThroughItsOwnStream) {
  std::unique_ptr<testing::InProcessServer> server = StartServer();
  ASSERT_NE(server, nullptr);
  testing::CommandResult loaded = testing::RunCommand(
      {AVESCTL_PATH, "--addr=" + server->address(), "load",
       "--table=vocabulary", AVES_SOURCE_DIR "/demo/vocabulary.csv"},
      {{"AVES_TOKEN", Token("loader-1", {"loader"})}});
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  auto sql = database_->Connect();
  const std::string job = pqxx::nontransaction(*sql)
                              .exec1("SELECT job_id::text FROM bulk_loads")[0]
                              .as<std::string>();
  auto jobs = data::v1::BatchJobService::NewStub(client::MakeChannel(
      server->address(), Bearer(Token("admin-1", {"admin"}))));
  data::v1::UpdateJobProgressRequest request;
  request.set_id(job);
  request.set_processed_items_delta(1);
  data::v1::UpdateJobProgressResponse response;
  grpc::ClientContext context;
  grpc::Status status = jobs->UpdateJobProgress(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("bulk load"));
  // A job of its own is the loader's to move.
  data::v1::CreateJobRequest create;
  create.set_job_type("import");
  data::v1::CreateJobResponse created;
  grpc::ClientContext create_context;
  ASSERT_TRUE(jobs->CreateJob(&create_context, create, &created).ok());
  EXPECT_EQ(created.job().created_by(), "admin-1");
  EXPECT_EQ(pqxx::nontransaction(*sql)
                .exec_params1("SELECT created_by FROM batch_jobs WHERE id = $1",
                              job)[0]
                .as<std::string>(),
            "loader-1")
      << "a load's job records the loader";
  request.set_id(created.job().id());
  grpc::ClientContext update_context;
  EXPECT_TRUE(
      jobs->UpdateJobProgress(&update_context, request, &response).ok());
}

// A real avesd's access log names the caller of each call it let through.
TEST_F(AuthorizationTest, TheAccessLogNamesTheCaller) {
  testing::AvesdProcess avesd(database_->conninfo(),
                              {{"AVES_AUTH_JWT_KEY_FILE", key_file_}});
  const std::string address = avesd.Address();
  ASSERT_FALSE(address.empty());
  testing::CommandResult purged =
      testing::RunCommand({AVESCTL_PATH, "--addr=" + address, "cache", "purge"},
                          {{"AVES_TOKEN", Token("operator-7", {"operator"})}});
  EXPECT_EQ(purged.exit_code, 0) << purged.err;
  EXPECT_THAT(
      avesd.process().StderrOnceItHas("caller=operator-7"),
      HasSubstr("method=ExerciseCacheService.PurgeExpired caller=operator-7"));
  const std::string token = Token("operator-7", {"operator"});
  EXPECT_THAT(avesd.process().Stderr(), ::testing::Not(HasSubstr(token)))
      << "no token in the log";
}

// Secure by default: a listener other machines reach needs TLS or
// authentication, or the operator's explicit AVES_INSECURE=1.
TEST_F(AuthorizationTest, ANonLoopbackListenerNeedsTlsOrAuthentication) {
  auto config =
      config::LoadConfig([](const std::string&) -> std::optional<std::string> {
        return std::nullopt;
      });
  ASSERT_OK(config);
  config->database_url = database_->conninfo();
  config->listen_address = "0.0.0.0:0";
  auto migrations = db::BuiltInMigrations();
  ASSERT_OK(migrations);
  EXPECT_THAT(app::AvesServer::Start(*config, *migrations),
              testing::StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("AVES_INSECURE=1")));
  config->insecure = true;
  auto insecure = app::AvesServer::Start(*config, *migrations);
  ASSERT_OK(insecure);
  (*insecure)->Shutdown();
  config->insecure = false;
  config->auth_jwt_key_file = key_file_;
  auto authenticated = app::AvesServer::Start(*config, *migrations);
  ASSERT_OK(authenticated);
  (*authenticated)->Shutdown();
  // avesd itself, end to end: it exits naming the setting.
  testing::CommandResult refused = testing::RunCommand(
      {AVESD_PATH, "serve"},
      {{"DATABASE_URL", database_->conninfo()}, {"AVES_LISTEN", "0.0.0.0:0"}},
      absl::Seconds(60));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("is reachable from other machines"));
}

}  // namespace
}  // namespace aves
