// Least privilege in PostgreSQL (migration 018) and TLS towards it: avesd
// serving as a login role that is only a member of aves_data_service does
// every job of the service (lookups, writes, an atomic bulk load through its
// stage, index checks, migration status) while DDL through that role fails;
// migrations run as the schema owner (AVES_MIGRATE_DATABASE_URL); and a
// TLS-only throwaway cluster (scripts/pg, AVES_PG_TLS=1) is reached with
// sslmode=verify-full.
#include <fstream>
#include <memory>
#include <string>

#include <absl/strings/escaping.h>
#include <absl/strings/str_cat.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "server/db/connection.h"
#include "tests/support/avesd_process.h"
#include "tests/support/in_process_server.h"
#include "tests/support/private_cluster.h"
#include "tests/support/serving_role.h"
#include "tests/support/status_matchers.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_database.h"
#include "tests/support/test_pki.h"

namespace aves {
namespace {

using client::ServingStatus;
using ::testing::HasSubstr;
using testing::ServingRole;

// How `sql` fails on `connection`: "denied" for insufficient privilege
// (SQLSTATE 42501, "permission denied" and "must be owner" alike), the
// message for anything else, "" if it succeeds. (libpqxx 6.4 leaves
// sqlstate() empty here; the exception's class carries the state.)
std::string FailureOf(pqxx::connection& connection, const std::string& sql) {
  try {
    pqxx::nontransaction(connection).exec(sql);
    return "";
  } catch (const pqxx::insufficient_privilege&) {
    return "denied";
  } catch (const pqxx::sql_error& error) {
    return error.what();
  }
}

class LeastPrivilegeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> cluster = testing::ClusterConninfo();
    ASSERT_OK(cluster);
    cluster_url_ = *cluster;
  }
  std::string cluster_url_;
};

TEST_F(LeastPrivilegeTest, TheServingRoleMayNotChangeTheSchema) {
  ServingRole role(cluster_url_);
  auto database = testing::TestDatabase::CreateMigrated("leastpriv");
  ASSERT_OK(database);
  pqxx::connection serving(role.UrlFor((*database)->conninfo()));
  ASSERT_EQ(pqxx::nontransaction(serving)
                .exec1("SELECT current_user")[0]
                .as<std::string>(),
            role.name())
      << role.UrlFor((*database)->conninfo());
  EXPECT_EQ(pqxx::nontransaction(serving)
                .exec1("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM "
                       "pg_roles WHERE rolname = current_user")[0]
                .as<bool>(),
            false);
  for (const char* ddl : {
           "CREATE TABLE sneaky (id int)",
           "CREATE TABLE public.sneaky (id int)",
           "ALTER TABLE exercise_cache ADD COLUMN sneaky int",
           "DROP TABLE users",
           "CREATE INDEX sneaky ON users (email)",
           "CREATE SCHEMA sneaky",
           "TRUNCATE users",
           "CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql AS 'SELECT 1'",
           "INSERT INTO schema_migrations (version, name, checksum, "
           "duration_ms) VALUES (999, 'sneaky', 'x', 0)",
           "DELETE FROM schema_migrations",
       }) {
    EXPECT_EQ(FailureOf(serving, ddl), "denied") << ddl;
  }
  // What it is there for.
  EXPECT_EQ(FailureOf(serving, "SELECT count(*) FROM schema_migrations"), "");
  EXPECT_EQ(FailureOf(serving,
                      "INSERT INTO vocabulary (spanish_term, english_term) "
                      "VALUES ('la garza', 'heron')"),
            "");
  EXPECT_EQ(FailureOf(serving, "CREATE TABLE aves_stage.scratch (id int)"), "")
      << "its stages' schema";
}

TEST_F(LeastPrivilegeTest, AvesdServesEveryJobAsTheServingRole) {
  ServingRole role(cluster_url_);
  auto database = testing::TestDatabase::CreateMigrated("leastpriv");
  ASSERT_OK(database);
  auto server =
      testing::InProcessServer::Start(role.UrlFor((*database)->conninfo()));
  ASSERT_OK(server);
  const std::string addr = "--addr=" + (*server)->address();
  auto avesctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {AVESCTL_PATH, addr});
    return testing::RunCommand(args);
  };
  const std::string user = "3f1e0c9a-58a4-4d0c-9f5e-2b8c1d7e6a40";
  testing::CommandResult put =
      avesctl({"cache", "put", "--user=" + user, "--type=identify",
               "--difficulty=2", "--data={\"bird\":\"heron\"}", "--ttl=600"});
  EXPECT_EQ(put.exit_code, 0) << put.err;
  testing::CommandResult get = avesctl(
      {"cache", "get", "--user=" + user, "--type=identify", "--difficulty=2"});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_THAT(get.out, HasSubstr("heron"));
  EXPECT_EQ(avesctl({"cache", "purge"}).exit_code, 0);
  // An atomic load goes through a stage table: created, filled and dropped
  // by the serving role in aves_stage.
  const std::string csv = testing::MakeTempDir() + "/words.csv";
  std::ofstream(csv) << "spanish_term,english_term\nla garza,heron\n"
                     << "el pico,beak\n";
  testing::CommandResult load =
      avesctl({"load", "--table=vocabulary", "--atomic", csv});
  EXPECT_EQ(load.exit_code, 0) << load.err << load.out;
  EXPECT_THAT(load.out, HasSubstr("loaded 2 rows into vocabulary"));
  // An upsert goes through a temporary table of the session.
  const std::string people = testing::MakeTempDir() + "/users.csv";
  std::ofstream(people) << "email,name\nana@example.org,Ana\n";
  for (int twice = 0; twice < 2; ++twice) {
    testing::CommandResult upsert = avesctl(
        {"load", "--table=users", "--mode=upsert", "--conflict=email", people});
    EXPECT_EQ(upsert.exit_code, 0) << upsert.err << upsert.out;
  }
  testing::CommandResult jobs = avesctl({"jobs", "list"});
  EXPECT_EQ(jobs.exit_code, 0) << jobs.err;
  EXPECT_EQ(avesctl({"migrations"}).exit_code, 0);
  testing::CommandResult indexes = avesctl({"verify-indexes"});
  EXPECT_EQ(indexes.exit_code, 0) << indexes.err << indexes.out;
  pqxx::connection owner((*database)->conninfo());
  EXPECT_EQ(pqxx::nontransaction(owner)
                .exec1("SELECT count(*) FROM pg_tables WHERE tablename LIKE "
                       "'aves\\_stage\\_%'")[0]
                .as<int>(),
            0)
      << "no stage left behind";
}

TEST_F(LeastPrivilegeTest, MigrationsRunAsTheOwnerAndServingAsTheRole) {
  ServingRole role(cluster_url_);
  auto database = testing::TestDatabase::CreateEmpty("leastpriv");
  ASSERT_OK(database);
  const std::string serving_url = role.UrlFor((*database)->conninfo());
  // The serving role alone cannot migrate: it may create nothing.
  testing::CommandResult refused = testing::RunCommand(
      {AVESD_PATH, "migrate"}, {{"DATABASE_URL", serving_url}});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("permission denied"));
  EXPECT_THAT(refused.err, ::testing::Not(HasSubstr(role.password())))
      << "no password in the message";
  testing::CommandResult migrated = testing::RunCommand(
      {AVESD_PATH, "migrate"},
      {{"DATABASE_URL", serving_url},
       {"AVES_MIGRATE_DATABASE_URL", (*database)->conninfo()}});
  EXPECT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_THAT(migrated.out, HasSubstr("applied 21 migration(s)"));
  testing::AvesdProcess avesd(serving_url, {});
  EXPECT_THAT(avesd.WaitForHealth(ServingStatus::kServing),
              testing::IsOkAndHolds(ServingStatus::kServing));
}

// scripts/pg's TLS cluster, with its own CA: verify-full connects (and
// avesd serves on it), plaintext and a wrong CA do not.
TEST_F(LeastPrivilegeTest, ATlsClusterIsReachedWithVerifyFull) {
  auto cluster = testing::PrivateCluster::CreateTls();
  ASSERT_OK(cluster);
  const std::string& url = (*cluster)->url();
  ASSERT_THAT(url, HasSubstr("sslmode=verify-full"));
  {
    pqxx::connection connection(url);
    EXPECT_TRUE(pqxx::nontransaction(connection)
                    .exec1("SELECT ssl FROM pg_stat_ssl WHERE pid = "
                           "pg_backend_pid()")[0]
                    .as<bool>());
  }
  EXPECT_ANY_THROW(
      pqxx::connection(db::WithConnectionParameter(url, "sslmode", "disable")))
      << "TCP without TLS is refused";
  auto other = testing::TestPki::Create("not the cluster's CA");
  ASSERT_OK(other);
  EXPECT_ANY_THROW(pqxx::connection(
      db::WithConnectionParameter(url, "sslrootcert", other->ca_cert_file())))
      << "a server certificate from another CA is refused";
  // avesd over it: migrated by the owner, served by the serving role.
  testing::CommandResult migrated = testing::RunCommand(
      {AVESD_PATH, "migrate"}, {{"DATABASE_URL", (*cluster)->service_url()},
                                {"AVES_MIGRATE_DATABASE_URL", url}});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  testing::AvesdProcess avesd((*cluster)->service_url(), {});
  EXPECT_THAT(avesd.WaitForHealth(ServingStatus::kServing),
              testing::IsOkAndHolds(ServingStatus::kServing));
}

}  // namespace
}  // namespace aves
