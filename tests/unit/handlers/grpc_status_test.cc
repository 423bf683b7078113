// Server-side status conversion and the client library's reading of it,
// without a network: the rich-error details survive the round trip.
#include "server/handlers/grpc_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/lib/channel.h"
#include "server/common/field_error.h"
#include "server/db/errors.h"

namespace aves {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(GrpcStatusTest, CodesAndMessagesPassThrough) {
  EXPECT_TRUE(handlers::ToGrpcStatus(absl::OkStatus()).ok());
  grpc::Status status =
      handlers::ToGrpcStatus(absl::NotFoundError("no such exercise"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no such exercise");
  EXPECT_TRUE(status.error_details().empty());
}

TEST(GrpcStatusTest, BadRequestDetailsReachTheClient) {
  grpc::Status sent = handlers::ToGrpcStatus(
      common::InvalidField("difficulty_level", "6 is outside [1, 5]"));
  EXPECT_EQ(sent.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(sent.error_details().empty());
  absl::Status received = client::FromGrpcStatus(sent);
  EXPECT_EQ(received.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(received.message(), "difficulty_level: 6 is outside [1, 5]");
  EXPECT_THAT(client::FieldViolations(received),
              ElementsAre(Pair("difficulty_level", "6 is outside [1, 5]")));
}

TEST(GrpcStatusTest, EveryViolationOfARequestReachesTheClient) {
  common::FieldChecks checks;
  checks.Add(common::InvalidField("user_id", "not a canonical UUID"));
  checks.Add(absl::OkStatus());
  checks.Add(common::InvalidField("difficulty_level", "9 is outside [1, 5]"));
  const absl::Status merged = checks.status();
  EXPECT_EQ(merged.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(merged.message(),
            "user_id: not a canonical UUID; difficulty_level: 9 is outside "
            "[1, 5]");
  absl::Status received =
      client::FromGrpcStatus(handlers::ToGrpcStatus(merged));
  EXPECT_THAT(client::FieldViolations(received),
              ElementsAre(Pair("user_id", "not a canonical UUID"),
                          Pair("difficulty_level", "9 is outside [1, 5]")));
}

TEST(GrpcStatusTest, FieldChecksPassOrKeepWhatIsNotAFinding) {
  common::FieldChecks none;
  none.Add(absl::OkStatus());
  EXPECT_TRUE(none.status().ok());
  // A failure that names no field (the database, say) is not merged away.
  common::FieldChecks mixed;
  mixed.Add(common::InvalidField("topic", "too long"));
  mixed.Add(absl::UnavailableError("database down"));
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kUnavailable);
  // A field whose problem holds a tab or newline still round-trips whole.
  common::FieldChecks one;
  one.Add(common::InvalidField("metadata", "byte 3: bad\tthing"));
  EXPECT_THAT(client::FieldViolations(
                  client::FromGrpcStatus(handlers::ToGrpcStatus(one.status()))),
              ElementsAre(Pair("metadata", "byte 3: bad\tthing")));
}

TEST(GrpcStatusTest, InternalPayloadsStayOnTheServer) {
  absl::Status status = absl::AlreadyExistsError("duplicate");
  status.SetPayload(db::kSqlStatePayload, absl::Cord("23505"));
  grpc::Status sent = handlers::ToGrpcStatus(status);
  EXPECT_TRUE(sent.error_details().empty());
  EXPECT_TRUE(client::FieldViolations(client::FromGrpcStatus(sent)).empty());
}

}  // namespace
}  // namespace aves
