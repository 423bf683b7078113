// Index verification: EXPLAIN each index-backed query the stores run (the
// named queries of queries.h), under custom and generic plans, and report two
// things: whether the query's shape can use the index it is meant to (planned
// with sequential scans off: true on a database of any size, and what a
// missing index or a query that defeats it breaks), and whether the planner
// chooses it at the tables' current sizes (on a few hundred rows it rightly
// prefers a sequential scan). The seed report's "Verification Steps" as one
// call (AdminService.VerifyIndexes).
#ifndef AVES_SERVER_STORE_INDEX_VERIFICATION_H_
#define AVES_SERVER_STORE_INDEX_VERIFICATION_H_

#include <string>
#include <vector>

#include <absl/status/statusor.h>

#include "server/common/call_context.h"

namespace aves::db {
class Database;
}  // namespace aves::db

namespace aves::store {

struct IndexCheck {
  std::string query;           // named query, e.g. "lookup_exercise"
  std::string plan_mode;       // "custom" or "generic"
  std::string intended_index;  // e.g. "idx_exercise_cache_lookup"
  // The plan the planner chooses now: every index it uses, whether the
  // intended one is among them, and the tree, one node a line.
  std::vector<std::string> plan_indexes;
  bool chosen = false;
  std::string plan;
  // Planned with sequential scans off: the intended index is used.
  bool can_use = false;
  std::string forced_plan;
};

// Plans every index-backed named query with representative parameters.
absl::StatusOr<std::vector<IndexCheck>> VerifyIndexes(
    db::Database& database, const common::CallContext& context);

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_INDEX_VERIFICATION_H_
