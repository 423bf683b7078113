#include "server/auth/policy.h"

#include <algorithm>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>

namespace aves::auth {
namespace {

constexpr RoleSet kFrontend{Role::kFrontend};
constexpr RoleSet kReviewer{Role::kReviewer};
constexpr RoleSet kLoader{Role::kLoader};
constexpr RoleSet kOperator{Role::kOperator};
// Reading the service's own state: the dashboard shows it, operators act on
// it.
constexpr RoleSet kWatchers{Role::kDashboard, Role::kOperator};

constexpr char kCache[] = "aves.data.v1.ExerciseCacheService/";
constexpr char kAnnotations[] = "aves.data.v1.AnnotationService/";
constexpr char kJobs[] = "aves.data.v1.BatchJobService/";
constexpr char kBulk[] = "aves.data.v1.BulkInsertService/";
constexpr char kAdmin[] = "aves.data.v1.AdminService/";

std::vector<MethodRule> MakeTable() {
  return {
      {absl::StrCat(kCache, "GetExercise"), kFrontend, "the hot path"},
      {absl::StrCat(kCache, "BatchGetExercises"), kFrontend, "the hot path"},
      {absl::StrCat(kCache, "PutExercise"), kFrontend, "fills the cache"},
      {absl::StrCat(kCache, "PurgeExpired"), kOperator, "maintenance"},
      {absl::StrCat(kAnnotations, "ListImageAnnotations"), kReviewer, ""},
      {absl::StrCat(kAnnotations, "ListAnnotationsByStatus"), kReviewer, ""},
      {absl::StrCat(kAnnotations, "ReviewAnnotation"), kReviewer,
       "reviewed_by is the caller"},
      {absl::StrCat(kJobs, "ListJobs"), kWatchers, "read-only"},
      {absl::StrCat(kJobs, "GetJob"), kWatchers, "read-only"},
      {absl::StrCat(kJobs, "ListJobErrors"), kWatchers, "read-only"},
      {absl::StrCat(kJobs, "WatchJobs"), kWatchers, "read-only"},
      {absl::StrCat(kJobs, "CreateJob"), kLoader, "job writes"},
      {absl::StrCat(kJobs, "UpdateJobProgress"), kLoader, "job writes"},
      {absl::StrCat(kJobs, "AppendJobErrors"), kLoader, "job writes"},
      {absl::StrCat(kBulk, "Insert"), kLoader, "tables limited per role"},
      {absl::StrCat(kAdmin, "GetMigrationStatus"), kWatchers, "read-only"},
      {absl::StrCat(kAdmin, "GetPoolStats"), kWatchers, "read-only"},
      {absl::StrCat(kAdmin, "VerifyIndexes"), kWatchers, "read-only"},
      {absl::StrCat(kAdmin, "ListSlowQueries"), kWatchers, "read-only"},
      {absl::StrCat(kAdmin, "GetQueryStats"), kWatchers, "read-only"},
      {absl::StrCat(kAdmin, "GetCacheStats"), kWatchers, "read-only"},
      {absl::StrCat(kAdmin, "RunAnalyze"), kOperator, "maintenance"},
      {absl::StrCat(kAdmin, "ReindexIndex"), kOperator, "maintenance"},
      {absl::StrCat(kAdmin, "GetIndexHealth"), kWatchers, "read-only"},
      {absl::StrCat(kAdmin, "GetRpcStats"), kWatchers, "read-only"},
  };
}

}  // namespace

const std::vector<MethodRule>& PolicyTable() {
  static const std::vector<MethodRule>* table =
      new std::vector<MethodRule>(MakeTable());
  return *table;
}

RoleSet RolesAllowed(absl::string_view method) {
  RoleSet roles{Role::kAdmin};
  for (const MethodRule& rule : PolicyTable()) {
    if (rule.method == method) roles.Add(rule.roles);
  }
  return roles;
}

std::string FormatPolicy() {
  size_t width = 0;
  for (const MethodRule& rule : PolicyTable()) {
    width = std::max(width, rule.method.size());
  }
  std::string out = absl::StrFormat("%-*s  %s\n", width, "RPC", "ROLES");
  for (const MethodRule& rule : PolicyTable()) {
    RoleSet roles = rule.roles;
    roles.Add(Role::kAdmin);
    absl::StrAppend(&out, absl::StrFormat("%-*s  %s", width, rule.method,
                                          roles.ToString(", ")));
    if (*rule.note != '\0') absl::StrAppend(&out, "  (", rule.note, ")");
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out, "Any other RPC: admin only. Health checks: anyone.\n");
  return out;
}

}  // namespace aves::auth
