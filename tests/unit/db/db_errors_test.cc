#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/except>

#include "server/db/connect_failure.h"
#include "server/db/errors.h"

namespace aves::db {
namespace {

using ::testing::HasSubstr;

absl::Status StatusOf(const std::exception_ptr& error,
                      absl::string_view context = "ctx") {
  try {
    std::rethrow_exception(error);
  } catch (...) {
    return StatusFromCurrentException(context);
  }
}

TEST(DbErrorsTest, MapsSqlStatesToCodes) {
  EXPECT_EQ(StatusCodeForSqlState("08006"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForSqlState("57P01"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForSqlState("57P03"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForSqlState("53300"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForSqlState("57014"),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(StatusCodeForSqlState("23505"), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusCodeForSqlState("23503"),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusCodeForSqlState("23514"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeForSqlState("22P02"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeForSqlState("40001"), absl::StatusCode::kAborted);
  EXPECT_EQ(StatusCodeForSqlState("40P01"), absl::StatusCode::kAborted);
  EXPECT_EQ(StatusCodeForSqlState("55P03"), absl::StatusCode::kAborted);
  EXPECT_EQ(StatusCodeForSqlState("42P01"),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusCodeForSqlState("53200"),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusCodeForSqlState("42601"), absl::StatusCode::kInternal);
  EXPECT_EQ(StatusCodeForSqlState(""), absl::StatusCode::kInternal);
}

TEST(DbErrorsTest, ConnectionLossStates) {
  EXPECT_TRUE(IsConnectionLossSqlState("08000"));
  EXPECT_TRUE(IsConnectionLossSqlState("57P02"));
  EXPECT_FALSE(IsConnectionLossSqlState("57014"));
  EXPECT_FALSE(IsConnectionLossSqlState("23505"));
}

TEST(DbErrorsTest, SqlErrorCarriesItsSqlStateAndContext) {
  absl::Status status = StatusOf(std::make_exception_ptr(
      pqxx::unique_violation("duplicate key value", "INSERT ...", "23505")));
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("ctx: duplicate key value"));
  EXPECT_EQ(SqlStateOf(status), "23505");
  EXPECT_FALSE(IsConnectionLoss(status));
}

// DETAIL can print a whole row (another user's columns); statuses reach
// callers and logs, so only the primary message goes on — except for the
// migrator's own SQL, where CONTEXT says where a migration failed.
TEST(DbErrorsTest, OnlyThePrimaryMessageGoesOnUnlessAskedForAll) {
  const std::exception_ptr error =
      std::make_exception_ptr(pqxx::integrity_constraint_violation(
          "ERROR:  new row for relation \"users\" violates check constraint "
          "\"users_email_check\"\nDETAIL:  Failing row contains (secret@x, "
          "Ann).\nCONTEXT:  SQL statement\n",
          "UPDATE ...", "23514"));
  absl::Status status = StatusOf(error);
  EXPECT_EQ(status.message(),
            "ctx: new row for relation \"users\" violates check constraint "
            "\"users_email_check\" [SQLSTATE 23514]");
  absl::Status full;
  try {
    std::rethrow_exception(error);
  } catch (...) {
    full = StatusFromCurrentException("ctx", ErrorText::kFull);
  }
  EXPECT_THAT(std::string(full.message()), HasSubstr("Failing row contains"));
  EXPECT_EQ(PrimaryMessage("ERROR:  a\nDETAIL:  b"), "a");
  EXPECT_EQ(PrimaryMessage("no prefix"), "no prefix");
}

TEST(DbErrorsTest, AdminShutdownIsAConnectionLoss) {
  absl::Status status = StatusOf(std::make_exception_ptr(pqxx::sql_error(
      "terminating connection due to administrator command", "", "57P01")));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsConnectionLoss(status));
}

TEST(DbErrorsTest, BrokenConnectionIsUnavailable) {
  absl::Status status =
      StatusOf(std::make_exception_ptr(pqxx::broken_connection("gone")));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("database connection lost"));
  EXPECT_EQ(SqlStateOf(status), std::nullopt);
  EXPECT_TRUE(IsConnectionLoss(status));
}

TEST(DbErrorsTest, InDoubtCommitIsUnknown) {
  absl::Status status =
      StatusOf(std::make_exception_ptr(pqxx::in_doubt_error("lost")));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("outcome of the commit is unknown"));
}

TEST(DbErrorsTest, ConnectFailuresAreToldWithoutHostUserOrDatabase) {
  struct Case {
    const char* libpq;
    const char* reason;
  };
  const Case cases[] = {
      {"connection to server at \"db.internal\" (10.1.2.3), port 5432 "
       "failed: Connection refused\n\tIs the server running on that host?",
       "connection refused"},
      {"connection to server at \"10.1.2.3\", port 5432 failed: FATAL:  "
       "password authentication failed for user \"aves_admin\"",
       "authentication failed"},
      {"connection to server at \"10.1.2.3\", port 5432 failed: FATAL:  "
       "database \"aves_prod\" does not exist",
       "database or role does not exist"},
      {"could not translate host name \"db.internal\" to address: Name or "
       "service not known",
       "host name not resolved"},
      {"connection to server at \"10.1.2.3\", port 5432 failed: timeout "
       "expired",
       "connect timeout"},
      {"something new from libpq about \"db.internal\"",
       "connection failed (details in avesd's log)"},
  };
  for (const Case& c : cases) {
    const std::string reason = db::ConnectFailureReason(c.libpq);
    EXPECT_EQ(reason, c.reason) << c.libpq;
    for (const char* secret :
         {"db.internal", "10.1.2.3", "aves_admin", "aves_prod", "5432"}) {
      EXPECT_EQ(reason.find(secret), std::string::npos) << reason;
    }
  }
}

TEST(DbErrorsTest, OtherExceptionsAreInternal) {
  EXPECT_EQ(
      StatusOf(std::make_exception_ptr(std::runtime_error("boom"))).code(),
      absl::StatusCode::kInternal);
  EXPECT_EQ(StatusOf(std::make_exception_ptr(42)).code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace aves::db
