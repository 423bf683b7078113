// The policy table against the services the protos declare: every RPC has a
// rule, no rule names a method that does not exist, and the roles the issue
// gives each party hold.
#include "server/auth/policy.h"

#include <set>
#include <string>

#include <absl/strings/str_cat.h>
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include "aves/data/v1/admin.grpc.pb.h"
#include "aves/data/v1/annotations.grpc.pb.h"
#include "aves/data/v1/batch_jobs.grpc.pb.h"
#include "aves/data/v1/bulk_insert.grpc.pb.h"
#include "aves/data/v1/exercise_cache.grpc.pb.h"
#include "server/auth/roles.h"
#include "tests/support/status_matchers.h"

namespace aves::auth {
namespace {

using ::aves::testing::StatusIs;
using ::testing::HasSubstr;

std::set<std::string> DeclaredMethods() {
  std::set<std::string> methods;
  // One message of each file: naming it links the file's descriptors in.
  for (const auto& [service, message] :
       {std::pair{data::v1::ExerciseCacheService::service_full_name(),
                  data::v1::GetExerciseRequest::descriptor()},
        std::pair{data::v1::AnnotationService::service_full_name(),
                  data::v1::ReviewAnnotationRequest::descriptor()},
        std::pair{data::v1::BatchJobService::service_full_name(),
                  data::v1::ListJobsRequest::descriptor()},
        std::pair{data::v1::BulkInsertService::service_full_name(),
                  data::v1::InsertRequest::descriptor()},
        std::pair{data::v1::AdminService::service_full_name(),
                  data::v1::GetPoolStatsRequest::descriptor()}}) {
    const google::protobuf::ServiceDescriptor* descriptor =
        message->file()->FindServiceByName(
            std::string(service).substr(std::string(service).rfind('.') + 1));
    EXPECT_NE(descriptor, nullptr) << service;
    if (descriptor == nullptr) continue;
    for (int i = 0; i < descriptor->method_count(); ++i) {
      methods.insert(absl::StrCat(service, "/", descriptor->method(i)->name()));
    }
  }
  return methods;
}

TEST(PolicyTest, EveryDeclaredRpcHasExactlyOneRuleAndEveryRuleAnRpc) {
  const std::set<std::string> declared = DeclaredMethods();
  std::set<std::string> ruled;
  for (const MethodRule& rule : PolicyTable()) {
    EXPECT_TRUE(ruled.insert(rule.method).second) << "twice: " << rule.method;
    EXPECT_TRUE(declared.count(rule.method)) << "no such RPC: " << rule.method;
    EXPECT_FALSE(rule.roles.empty()) << rule.method;
  }
  for (const std::string& method : declared) {
    EXPECT_TRUE(ruled.count(method)) << "no rule: " << method;
  }
}

TEST(PolicyTest, EachPartyMayCallItsOwnRpcsAndNoOthers) {
  const std::string cache = "aves.data.v1.ExerciseCacheService/";
  const std::string jobs = "aves.data.v1.BatchJobService/";
  const std::string admin = "aves.data.v1.AdminService/";
  EXPECT_EQ(RolesAllowed(cache + "GetExercise"),
            (RoleSet{Role::kFrontend, Role::kAdmin}));
  EXPECT_EQ(RolesAllowed(cache + "PurgeExpired"),
            (RoleSet{Role::kOperator, Role::kAdmin}));
  EXPECT_EQ(RolesAllowed("aves.data.v1.AnnotationService/ReviewAnnotation"),
            (RoleSet{Role::kReviewer, Role::kAdmin}));
  // Operators see the jobs they act on (maintenance runs) and the
  // dashboard's jobs view with their token.
  EXPECT_EQ(RolesAllowed(jobs + "WatchJobs"),
            (RoleSet{Role::kDashboard, Role::kOperator, Role::kAdmin}));
  EXPECT_EQ(RolesAllowed(jobs + "UpdateJobProgress"),
            (RoleSet{Role::kLoader, Role::kAdmin}));
  EXPECT_EQ(RolesAllowed("aves.data.v1.BulkInsertService/Insert"),
            (RoleSet{Role::kLoader, Role::kAdmin}));
  EXPECT_EQ(RolesAllowed(admin + "GetPoolStats"),
            (RoleSet{Role::kDashboard, Role::kOperator, Role::kAdmin}));
  // The dashboard reads jobs; it never writes one.
  for (const char* write :
       {"CreateJob", "UpdateJobProgress", "AppendJobErrors"}) {
    EXPECT_FALSE(RolesAllowed(jobs + write).Has(Role::kDashboard)) << write;
  }
}

TEST(PolicyTest, AnRpcWithoutARuleIsAdminOnly) {
  EXPECT_EQ(RolesAllowed("aves.data.v1.AdminService/DropEverything"),
            RoleSet{Role::kAdmin});
  EXPECT_EQ(RolesAllowed(""), RoleSet{Role::kAdmin});
}

TEST(PolicyTest, ThePrintedPolicyListsEveryRpcWithItsRoles) {
  const std::string printed = FormatPolicy();
  for (const MethodRule& rule : PolicyTable()) {
    EXPECT_THAT(printed, HasSubstr(rule.method));
  }
  EXPECT_THAT(printed, HasSubstr("dashboard, operator, admin"));
  EXPECT_THAT(printed, HasSubstr("admin only"));
}

TEST(RolesTest, ParsesListsAndNamesWhatItCannotParse) {
  EXPECT_THAT(ParseRoles("loader+dashboard"),
              testing::IsOkAndHolds(RoleSet{Role::kLoader, Role::kDashboard}));
  EXPECT_THAT(ParseRoles(" frontend , admin "),
              testing::IsOkAndHolds(RoleSet{Role::kFrontend, Role::kAdmin}));
  EXPECT_THAT(
      ParseRoles("loader+root"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'root'")));
  EXPECT_THAT(ParseRoles("Loader"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseRoles("+,"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ((RoleSet{Role::kAdmin, Role::kFrontend}).ToString(),
            "frontend+admin");
  EXPECT_EQ(RoleSet().ToString(), "(none)");
  EXPECT_FALSE((RoleSet{Role::kLoader}).Intersects(RoleSet{Role::kReviewer}));
}

}  // namespace
}  // namespace aves::auth
