// Index verification: EXPLAIN each index-backed query the stores run (the
// named queries of queries.h), under custom and generic plans, and report
// whether the plan uses the index it is meant to. The seed report's
// "Verification Steps" as one call (AdminService.VerifyIndexes).
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
  std::string query;                      // named query, e.g. "lookup_exercise"
  std::string plan_mode;                  // "custom" or "generic"
  std::string intended_index;             // e.g. "idx_exercise_cache_lookup"
  std::vector<std::string> plan_indexes;  // every index the plan uses
  bool passed = false;
  std::string plan;  // the plan tree, one node a line
};

// Plans every index-backed named query with representative parameters. A
// table too small for the planner to prefer an index reports passed=false:
// verify on a loaded database.
absl::StatusOr<std::vector<IndexCheck>> VerifyIndexes(
    db::Database& database, const common::CallContext& context);

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_INDEX_VERIFICATION_H_
