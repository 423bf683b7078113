// Query plans as data: runs EXPLAIN (FORMAT JSON) for a statement exactly as a
// prepared statement would be planned (custom or generic plan) and flattens
// the plan tree, so tests and VerifyIndexes can ask "which index does this
// query use?" of the very SQL the stores run.
#ifndef AVES_SERVER_DB_EXPLAIN_H_
#define AVES_SERVER_DB_EXPLAIN_H_

#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>

#include "server/db/pqxx_fwd.h"

namespace aves::db {

struct PlanNode {
  std::string node_type;      // "Index Scan", "Seq Scan", "Sort", ...
  std::string index_name;     // for index scans
  std::string relation_name;  // for scans
  double plan_rows = 0;       // the planner's estimate
  int depth = 0;
};

struct QueryPlan {
  std::vector<PlanNode> nodes;  // pre-order
  // True when an Index Scan, Index Only Scan or Bitmap Index Scan uses `index`.
  bool UsesIndex(absl::string_view index) const;
  // True when some node has this type.
  bool HasNode(absl::string_view node_type) const;
  // The node types of the scans on `relation`, e.g. {"Seq Scan"}.
  std::vector<std::string> ScansOf(absl::string_view relation) const;
  // Every index any node uses, comma-separated (for messages).
  std::string IndexesUsed() const;
  // One line per node, indented: for failure messages.
  std::string ToString() const;
};

// Parses the output of EXPLAIN (FORMAT JSON).
absl::StatusOr<QueryPlan> ParseExplainJson(absl::string_view json);

enum class PlanMode {
  kCustom,   // planned for these parameter values (a prepared statement's first
             // runs)
  kGeneric,  // planned for any values (what a long-lived prepared statement
             // settles on)
};

enum class ScanChoice {
  kPlanners,  // what the planner picks at the tables' current sizes
  // Sequential scans disabled (enable_seqscan = off): whether the query's
  // shape can use an index at all, whatever the tables' sizes.
  kNoSequentialScans,
};

// Plans `sql` (with $n parameters bound to `params` as text; nullopt = NULL)
// in `mode` on `connection`, which must have no open transaction.
absl::StatusOr<QueryPlan> ExplainQuery(
    pqxx::connection_base& connection, const std::string& sql,
    const std::vector<std::optional<std::string>>& params, PlanMode mode,
    ScanChoice scans = ScanChoice::kPlanners);

}  // namespace aves::db

#endif  // AVES_SERVER_DB_EXPLAIN_H_
