#include "server/store/index_verification.h"

#include <optional>

#include <pqxx/connection_base>

#include "server/db/database.h"
#include "server/db/explain.h"
#include "server/store/queries.h"

namespace aves::store {
namespace {

using Params = std::vector<std::optional<std::string>>;

// Representative values: keys that plan like real ones (an equality on an
// id; the review queue's "pending"; the first page's sentinels).
constexpr char kSomeId[] = "00000000-0000-4000-8000-000000000000";
constexpr char kMaxId[] = "ffffffff-ffff-ffff-ffff-ffffffffffff";

struct Probe {
  const NamedQuery* query;
  Params params;
};

std::vector<Probe> Probes() {
  return {
      {&kLookupExercise, {kSomeId, "visual_discrimination", "2"}},
      {&kLookupExerciseWithTopic,
       {kSomeId, "visual_discrimination", "2", "topic_1"}},
      {&kLookupExercisesBatch,
       {"{00000000-0000-4000-8000-000000000000,"
        "00000000-0000-4000-8000-000000000001}",
        "{visual_discrimination,term_matching}", "{2,3}", "{NULL,topic_1}"}},
      {&kPurgeExpiredExercises, {"1000"}},
      {&kListImageAnnotations, {kSomeId, "0", "2", kMaxId, "50"}},
      {&kListAnnotationsByStatus, {"pending", "infinity", kMaxId, "50"}},
      {&kListJobsByStatuses,
       {"{pending,processing}", "infinity", kMaxId, "50"}},
      {&kListJobsByTypeAndStatuses,
       {"{failed}", "bulk_insert", "infinity", kMaxId, "50"}},
      {&kListJobErrors, {kSomeId, "infinity", "9223372036854775807", "50"}},
  };
}

}  // namespace

absl::StatusOr<std::vector<IndexCheck>> VerifyIndexes(
    db::Database& database, const common::CallContext& context) {
  std::vector<IndexCheck> checks;
  for (const Probe& probe : Probes()) {
    for (db::PlanMode mode : {db::PlanMode::kCustom, db::PlanMode::kGeneric}) {
      absl::StatusOr<db::QueryPlan> plan;
      absl::StatusOr<db::QueryPlan> forced;
      absl::Status status = database.Run(
          context, db::Access::kRead, [&](pqxx::connection_base& connection) {
            plan = db::ExplainQuery(connection, probe.query->sql, probe.params,
                                    mode);
            if (!plan.ok()) return plan.status();
            forced =
                db::ExplainQuery(connection, probe.query->sql, probe.params,
                                 mode, db::ScanChoice::kNoSequentialScans);
            return forced.status();
          });
      if (!status.ok()) return status;
      IndexCheck check;
      check.query = probe.query->name;
      check.plan_mode = mode == db::PlanMode::kCustom ? "custom" : "generic";
      check.intended_index = probe.query->intended_index;
      for (const db::PlanNode& node : plan->nodes) {
        if (!node.index_name.empty())
          check.plan_indexes.push_back(node.index_name);
      }
      check.chosen = plan->UsesIndex(probe.query->intended_index);
      check.plan = plan->ToString();
      check.can_use = forced->UsesIndex(probe.query->intended_index);
      check.forced_plan = forced->ToString();
      checks.push_back(std::move(check));
    }
  }
  return checks;
}

}  // namespace aves::store
