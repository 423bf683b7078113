// TLS on the listener, seen by clients: certificates made at run time by the
// test's own CA (tests/support/test_pki), avesd in process on a real
// PostgreSQL, channels from the client library and avesctl.
#include <cstdio>
#include <memory>
#include <string>

#include <absl/time/clock.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/lib/channel.h"
#include "client/lib/health_client.h"
#include "server/app/server.h"
#include "server/db/migration_file.h"
#include "tests/support/http_get.h"
#include "tests/support/in_process_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"
#include "tests/support/test_pki.h"

namespace aves {
namespace {

using ::aves::testing::StatusIs;
using client::ChannelSecurity;
using client::ServingStatus;
using ::testing::HasSubstr;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto database = testing::TestDatabase::CreateMigrated("tls");
    ASSERT_OK(database);
    database_ = *std::move(database);
    auto ca = testing::TestPki::Create("aves-test-ca");
    ASSERT_OK(ca);
    ca_ = std::make_unique<testing::TestPki>(*std::move(ca));
    auto server_cert = ca_->Issue("avesd");
    ASSERT_OK(server_cert);
    server_cert_ = *std::move(server_cert);
  }

  // A TLS client trusting `ca_file`, expecting the certificate's name.
  static ChannelSecurity Trusting(const std::string& ca_file,
                                  const std::string& cert_file = "",
                                  const std::string& key_file = "") {
    absl::StatusOr<ChannelSecurity> security = ChannelSecurity::FromFiles(
        true, ca_file, cert_file, key_file, "localhost");
    EXPECT_OK(security);
    return security.ok() ? *security : ChannelSecurity{};
  }

  // avesd with TLS from the test CA's certificate; `adjust` adds the rest.
  std::unique_ptr<testing::InProcessServer> StartServer(
      const std::function<void(config::Config&)>& adjust = {},
      const ChannelSecurity& health_client = {}) {
    auto server = testing::InProcessServer::Start(
        database_->conninfo(),
        [&](config::Config& config) {
          config.tls_cert_file = server_cert_.cert_file;
          config.tls_key_file = server_cert_.key_file;
          if (adjust) adjust(config);
        },
        health_client.tls ? health_client : Trusting(ca_->ca_cert_file()));
    EXPECT_OK(server);
    return server.ok() ? *std::move(server) : nullptr;
  }

  static absl::StatusOr<ServingStatus> Health(const std::string& address,
                                              const ChannelSecurity& security) {
    client::HealthClient health(client::MakeChannel(address, security),
                                client::CallOptions{absl::Seconds(5)});
    return health.Check("");
  }

  std::unique_ptr<testing::TestDatabase> database_;
  std::unique_ptr<testing::TestPki> ca_;
  testing::IssuedCertificate server_cert_;
};

TEST_F(TlsTest, APlaintextClientIsRefusedAndATrustingOneServed) {
  std::unique_ptr<testing::InProcessServer> server = StartServer();
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Health(server->address(), ChannelSecurity{}),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Health(server->address(), Trusting(ca_->ca_cert_file())),
              testing::IsOkAndHolds(ServingStatus::kServing));
}

TEST_F(TlsTest, AClientTrustingAnotherCaIsRefused) {
  std::unique_ptr<testing::InProcessServer> server = StartServer();
  ASSERT_NE(server, nullptr);
  auto other = testing::TestPki::Create("another-ca");
  ASSERT_OK(other);
  EXPECT_THAT(Health(server->address(), Trusting(other->ca_cert_file())),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(TlsTest, MutualTlsServesOnlyClientsWithACertificateOfItsCa) {
  auto client_ca = testing::TestPki::Create("aves-client-ca");
  ASSERT_OK(client_ca);
  auto reviewer = client_ca->Issue("reviewer-tool");
  ASSERT_OK(reviewer);
  auto stranger_ca = testing::TestPki::Create("stranger-ca");
  ASSERT_OK(stranger_ca);
  auto stranger = stranger_ca->Issue("stranger");
  ASSERT_OK(stranger);
  const ChannelSecurity with_cert =
      Trusting(ca_->ca_cert_file(), reviewer->cert_file, reviewer->key_file);
  std::unique_ptr<testing::InProcessServer> server = StartServer(
      [&](config::Config& config) {
        config.tls_client_ca_file = client_ca->ca_cert_file();
        config.tls_client_auth = config::Config::ClientAuth::kRequire;
      },
      with_cert);
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Health(server->address(), with_cert),
              testing::IsOkAndHolds(ServingStatus::kServing));
  EXPECT_THAT(Health(server->address(), Trusting(ca_->ca_cert_file())),
              StatusIs(absl::StatusCode::kUnavailable))
      << "no client certificate";
  EXPECT_THAT(Health(server->address(),
                     Trusting(ca_->ca_cert_file(), stranger->cert_file,
                              stranger->key_file)),
              StatusIs(absl::StatusCode::kUnavailable))
      << "a certificate of another CA";

  // "request": a certificate is verified when given, not required.
  std::unique_ptr<testing::InProcessServer> requesting =
      StartServer([&](config::Config& config) {
        config.tls_client_ca_file = client_ca->ca_cert_file();
        config.tls_client_auth = config::Config::ClientAuth::kRequest;
      });
  ASSERT_NE(requesting, nullptr);
  EXPECT_THAT(Health(requesting->address(), Trusting(ca_->ca_cert_file())),
              testing::IsOkAndHolds(ServingStatus::kServing));
  EXPECT_THAT(Health(requesting->address(), with_cert),
              testing::IsOkAndHolds(ServingStatus::kServing));
  EXPECT_THAT(Health(requesting->address(),
                     Trusting(ca_->ca_cert_file(), stranger->cert_file,
                              stranger->key_file)),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(TlsTest, ARotatedCertificateReachesNewConnectionsAndOpenOnesKeepOn) {
  std::unique_ptr<testing::InProcessServer> server =
      StartServer([](config::Config& config) {
        config.tls_reload_interval = absl::Seconds(1);
      });
  ASSERT_NE(server, nullptr);
  const ChannelSecurity old_trust = Trusting(ca_->ca_cert_file());
  client::HealthClient open(client::MakeChannel(server->address(), old_trust),
                            client::CallOptions{absl::Seconds(5)});
  ASSERT_THAT(open.Check(""), testing::IsOkAndHolds(ServingStatus::kServing));

  // The operator replaces the files with a certificate of a new CA (each
  // file renamed into place, as a certificate manager does).
  auto new_ca = testing::TestPki::Create("aves-new-ca");
  ASSERT_OK(new_ca);
  auto renewed = new_ca->Issue("avesd-renewed");
  ASSERT_OK(renewed);
  ASSERT_EQ(
      std::rename(renewed->key_file.c_str(), server_cert_.key_file.c_str()), 0);
  ASSERT_EQ(
      std::rename(renewed->cert_file.c_str(), server_cert_.cert_file.c_str()),
      0);
  const ChannelSecurity new_trust = Trusting(new_ca->ca_cert_file());
  absl::StatusOr<ServingStatus> fresh;
  for (int i = 0; i < 100; ++i) {
    fresh = Health(server->address(), new_trust);
    if (fresh.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_THAT(fresh, testing::IsOkAndHolds(ServingStatus::kServing))
      << "new connections never saw the new certificate";
  EXPECT_THAT(Health(server->address(), old_trust),
              StatusIs(absl::StatusCode::kUnavailable))
      << "a new connection still got the old certificate";
  // The connection opened before goes on with the certificate it began
  // with (a reconnect would fail: it trusts only the old CA).
  EXPECT_THAT(open.Check(""), testing::IsOkAndHolds(ServingStatus::kServing));
}

// The HTTP listener (/metrics) serves the same files and follows their
// rotation like the gRPC listener.
TEST_F(TlsTest, TheHttpListenerFollowsARotatedCertificateToo) {
  std::unique_ptr<testing::InProcessServer> server =
      StartServer([](config::Config& config) {
        config.tls_reload_interval = absl::Seconds(1);
      });
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(testing::HttpGet(server->http_address(), "/healthz", "",
                             ca_->ca_cert_file())
                .status,
            200);
  EXPECT_EQ(testing::HttpGet(server->http_address(), "/healthz").status, 0)
      << "plain HTTP on a TLS listener";

  // Half a rotation first: a new key beside the old certificate keeps the
  // old pair in service.
  auto new_ca = testing::TestPki::Create("aves-new-ca");
  ASSERT_OK(new_ca);
  auto renewed = new_ca->Issue("avesd-renewed");
  ASSERT_OK(renewed);
  ASSERT_EQ(
      std::rename(renewed->key_file.c_str(), server_cert_.key_file.c_str()), 0);
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_EQ(testing::HttpGet(server->http_address(), "/healthz", "",
                             ca_->ca_cert_file())
                .status,
            200)
      << "a key that is not the certificate's must not break the listener";
  ASSERT_EQ(
      std::rename(renewed->cert_file.c_str(), server_cert_.cert_file.c_str()),
      0);
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    status = testing::HttpGet(server->http_address(), "/healthz", "",
                              new_ca->ca_cert_file())
                 .status;
    if (status != 200) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(status, 200) << "new connections never saw the new certificate";
  EXPECT_EQ(testing::HttpGet(server->http_address(), "/healthz", "",
                             ca_->ca_cert_file())
                .status,
            0)
      << "a new connection still got the old certificate";
}

TEST_F(TlsTest, AvesctlSpeaksTls) {
  std::unique_ptr<testing::InProcessServer> server = StartServer();
  ASSERT_NE(server, nullptr);
  testing::CommandResult trusted = testing::RunCommand(
      {AVESCTL_PATH, "--addr=" + server->address(),
       "--ca=" + ca_->ca_cert_file(), "--server-name=localhost", "health"});
  EXPECT_EQ(trusted.exit_code, 0) << trusted.err;
  EXPECT_EQ(trusted.out, "SERVING\n");
  testing::CommandResult by_env = testing::RunCommand(
      {AVESCTL_PATH, "health"}, {{"AVES_ADDR", server->address()},
                                 {"AVES_CA_FILE", ca_->ca_cert_file()},
                                 {"AVES_SERVER_NAME", "localhost"}});
  EXPECT_EQ(by_env.exit_code, 0) << by_env.err;
  testing::CommandResult plaintext = testing::RunCommand(
      {AVESCTL_PATH, "--addr=" + server->address(), "--timeout=2", "health"});
  EXPECT_NE(plaintext.exit_code, 0);
  EXPECT_THAT(plaintext.err, HasSubstr("UNAVAILABLE"));
  testing::CommandResult missing =
      testing::RunCommand({AVESCTL_PATH, "--addr=" + server->address(),
                           "--ca=/nonexistent/ca.pem", "health"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("cannot read the CA file"));
}

// A mistake in the files stops avesd at start-up, naming the setting.
TEST_F(TlsTest, AKeyThatIsNotTheCertificatesStopsAvesdAtStart) {
  auto other = ca_->Issue("other");
  ASSERT_OK(other);
  auto config =
      config::LoadConfig([](const std::string&) -> std::optional<std::string> {
        return std::nullopt;
      });
  ASSERT_OK(config);
  config->database_url = database_->conninfo();
  config->listen_address = "127.0.0.1:0";
  config->tls_cert_file = server_cert_.cert_file;
  config->tls_key_file = other->key_file;
  auto migrations = db::BuiltInMigrations();
  ASSERT_OK(migrations);
  EXPECT_THAT(app::AvesServer::Start(*config, *migrations),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_TLS_KEY_FILE: ")));
  config->tls_key_file = "/nonexistent/key.pem";
  EXPECT_THAT(app::AvesServer::Start(*config, *migrations),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("AVES_TLS_KEY_FILE: cannot read")));
}

}  // namespace
}  // namespace aves
