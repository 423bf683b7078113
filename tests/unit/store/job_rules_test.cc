// Pure logic behind the jobs API: the status transition rule, the change
// feed's payload parser, and array literals passed as query parameters.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/db/array_literal.h"
#include "server/store/job_feed.h"
#include "server/store/job_status.h"
#include "tests/support/status_matchers.h"

namespace aves {
namespace {

using ::aves::testing::StatusIs;
using ::testing::HasSubstr;

using store::JobStatus;
using store::JobStatusName;

TEST(JobTransitionsTest, ForwardMovesAreAllowed) {
  for (JobStatus to : {JobStatus::kProcessing, JobStatus::kCompleted,
                       JobStatus::kFailed, JobStatus::kCancelled})
    EXPECT_THAT(store::CheckJobTransition(JobStatus::kPending, to),
                StatusIs(absl::StatusCode::kOk))
        << JobStatusName(to);
  for (JobStatus to :
       {JobStatus::kCompleted, JobStatus::kFailed, JobStatus::kCancelled})
    EXPECT_THAT(store::CheckJobTransition(JobStatus::kProcessing, to),
                StatusIs(absl::StatusCode::kOk))
        << JobStatusName(to);
  EXPECT_OK(store::CheckJobTransition(JobStatus::kProcessing,
                                      JobStatus::kProcessing));
  EXPECT_OK(
      store::CheckJobTransition(JobStatus::kPending, JobStatus::kPending));
}

TEST(JobTransitionsTest, NothingLeavesAFinalStatusOrGoesBack) {
  for (JobStatus from :
       {JobStatus::kCompleted, JobStatus::kFailed, JobStatus::kCancelled}) {
    EXPECT_TRUE(store::IsFinalJobStatus(from));
    for (JobStatus to : store::kAllJobStatuses) {
      EXPECT_THAT(store::CheckJobTransition(from, to),
                  StatusIs(absl::StatusCode::kFailedPrecondition,
                           HasSubstr("final status")))
          << JobStatusName(from) << " -> " << JobStatusName(to);
    }
  }
  EXPECT_THAT(
      store::CheckJobTransition(JobStatus::kProcessing, JobStatus::kPending),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("cannot go back to pending")));
  EXPECT_FALSE(store::IsFinalJobStatus(JobStatus::kProcessing));
}

TEST(JobTransitionsTest, StatusNamesAreTheSchemasAndParseBack) {
  for (JobStatus status : store::kAllJobStatuses) {
    EXPECT_EQ(store::ParseJobStatus(JobStatusName(status)), status);
  }
  EXPECT_STREQ(JobStatusName(JobStatus::kCancelled), "cancelled");
  EXPECT_EQ(store::ParseJobStatus("canceled"), std::nullopt);
  EXPECT_EQ(store::ParseJobStatus(""), std::nullopt);
}

TEST(JobNotificationTest, ParsesTheTriggersPayload) {
  store::JobNotification n;
  ASSERT_TRUE(store::ParseJobNotification(
      "UPDATE 6f1d0a3e-2b4c-4d5e-8f70-112233445566 completed processing "
      "ai annotation v2",
      &n));
  EXPECT_EQ(n.kind, store::JobChange::Kind::kUpdated);
  EXPECT_EQ(n.id, "6f1d0a3e-2b4c-4d5e-8f70-112233445566");
  EXPECT_EQ(n.status, JobStatus::kCompleted);
  EXPECT_EQ(n.old_status, JobStatus::kProcessing);
  EXPECT_EQ(n.job_type, "ai annotation v2");  // the rest, spaces and all
  ASSERT_TRUE(store::ParseJobNotification("INSERT id1 pending - bulk", &n));
  EXPECT_EQ(n.kind, store::JobChange::Kind::kCreated);
  EXPECT_EQ(n.old_status, std::nullopt);
  ASSERT_TRUE(store::ParseJobNotification("DELETE id1 failed - bulk", &n));
  EXPECT_EQ(n.kind, store::JobChange::Kind::kDeleted);
}

TEST(JobNotificationTest, RefusesOtherPayloads) {
  store::JobNotification n;
  EXPECT_FALSE(store::ParseJobNotification("", &n));
  EXPECT_FALSE(store::ParseJobNotification("UPDATE id1 pending", &n));
  EXPECT_FALSE(store::ParseJobNotification("TRUNCATE id1 a - b", &n));
  EXPECT_FALSE(store::ParseJobNotification("INSERT  pending - b", &n));
  EXPECT_FALSE(store::ParseJobNotification("INSERT id1 paused - b", &n))
      << "a status the schema does not have";
}

TEST(ArrayLiteralTest, QuotesEveryElementAndEscapesQuotesAndBackslashes) {
  EXPECT_EQ(db::ArrayLiteral({}), "{}");
  EXPECT_EQ(db::TextArrayLiteral({"a", "b,c"}), R"({"a","b,c"})");
  EXPECT_EQ(db::ArrayLiteral({std::string("a"), std::nullopt,
                              std::string("NULL"), std::string("")}),
            R"({"a",NULL,"NULL",""})");
  EXPECT_EQ(db::ArrayLiteral({std::string(R"(say "hi" \ {x,y})")}),
            R"({"say \"hi\" \\ {x,y}"})");
}

}  // namespace
}  // namespace aves
