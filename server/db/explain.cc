#include "server/db/explain.h"

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <pqxx/pqxx>

#include "server/db/errors.h"
#include "server/db/statement_name.h"

namespace aves::db {
namespace {

using google::protobuf::Value;

std::string StringField(const google::protobuf::Struct& node, const char* key) {
  auto it = node.fields().find(key);
  return it != node.fields().end() && it->second.has_string_value()
             ? it->second.string_value()
             : "";
}

double NumberField(const google::protobuf::Struct& node, const char* key) {
  auto it = node.fields().find(key);
  return it != node.fields().end() && it->second.has_number_value()
             ? it->second.number_value()
             : 0;
}

void Flatten(const google::protobuf::Struct& node, int depth,
             std::vector<PlanNode>& out) {
  out.push_back(PlanNode{StringField(node, "Node Type"),
                         StringField(node, "Index Name"),
                         StringField(node, "Relation Name"),
                         NumberField(node, "Plan Rows"), depth});
  auto children = node.fields().find("Plans");
  if (children == node.fields().end()) return;
  for (const Value& child : children->second.list_value().values()) {
    Flatten(child.struct_value(), depth + 1, out);
  }
}

bool IsIndexScan(const std::string& node_type) {
  return node_type == "Index Scan" || node_type == "Index Only Scan" ||
         node_type == "Bitmap Index Scan";
}

}  // namespace

bool QueryPlan::UsesIndex(absl::string_view index) const {
  for (const PlanNode& node : nodes) {
    if (IsIndexScan(node.node_type) && node.index_name == index) return true;
  }
  return false;
}

bool QueryPlan::HasNode(absl::string_view node_type) const {
  for (const PlanNode& node : nodes) {
    if (node.node_type == node_type) return true;
  }
  return false;
}

std::vector<std::string> QueryPlan::ScansOf(absl::string_view relation) const {
  std::vector<std::string> scans;
  for (const PlanNode& node : nodes) {
    if (node.relation_name == relation) scans.push_back(node.node_type);
  }
  return scans;
}

std::string QueryPlan::IndexesUsed() const {
  std::vector<std::string> names;
  for (const PlanNode& node : nodes) {
    if (!node.index_name.empty()) names.push_back(node.index_name);
  }
  return absl::StrJoin(names, ", ");
}

std::string QueryPlan::ToString() const {
  std::string out;
  for (const PlanNode& node : nodes) {
    absl::StrAppend(&out, std::string(2 * node.depth, ' '), node.node_type,
                    node.index_name.empty() ? "" : " using ", node.index_name,
                    node.relation_name.empty() ? "" : " on ",
                    node.relation_name, "\n");
  }
  return out;
}

absl::StatusOr<QueryPlan> ParseExplainJson(absl::string_view json) {
  Value root;
  if (!google::protobuf::util::JsonStringToMessage(std::string(json), &root)
           .ok() ||
      root.list_value().values_size() == 0) {
    return absl::InternalError("EXPLAIN output is not the expected JSON");
  }
  const Value& plan_entry = root.list_value().values(0);
  auto plan = plan_entry.struct_value().fields().find("Plan");
  if (plan == plan_entry.struct_value().fields().end()) {
    return absl::InternalError("EXPLAIN output has no Plan");
  }
  QueryPlan result;
  Flatten(plan->second.struct_value(), 0, result.nodes);
  return result;
}

absl::StatusOr<QueryPlan> ExplainQuery(
    pqxx::connection_base& connection, const std::string& sql,
    const std::vector<std::optional<std::string>>& params, PlanMode mode,
    ScanChoice scans) {
  // PREPARE + EXPLAIN EXECUTE plans the statement through the plan cache, so
  // plan_cache_mode picks custom or generic exactly as for a prepared query.
  // EXECUTE's arguments cannot be bound parameters, so they are passed as
  // literals escaped by libpq; PostgreSQL casts them to the statement's types.
  try {
    pqxx::nontransaction tx(connection);
    tx.exec(
        mode == PlanMode::kGeneric
            ? AVES_SQL_NAME(
                  "explain_setup") "SET plan_cache_mode = force_generic_plan"
            : AVES_SQL_NAME(
                  "explain_setup") "SET plan_cache_mode = force_custom_plan");
    if (scans == ScanChoice::kNoSequentialScans)
      tx.exec(AVES_SQL_NAME("explain_setup") "SET enable_seqscan = off");
    const auto reset = [&] {
      tx.exec(AVES_SQL_NAME("explain_reset") "DEALLOCATE aves_explain");
      tx.exec(AVES_SQL_NAME("explain_reset") "RESET plan_cache_mode");
      tx.exec(AVES_SQL_NAME("explain_reset") "RESET enable_seqscan");
    };
    std::vector<std::string> literals;
    for (const std::optional<std::string>& param : params) {
      literals.push_back(param.has_value() ? tx.quote(*param) : "NULL");
    }
    const std::string execute = absl::StrCat(
        AVES_SQL_NAME(
            "verify_indexes") "EXPLAIN (FORMAT JSON) EXECUTE aves_explain",
        literals.empty()
            ? ""
            : absl::StrCat("(", absl::StrJoin(literals, ", "), ")"));
    tx.exec(AVES_SQL_NAME("explain_prepare") "PREPARE aves_explain AS " + sql);
    std::string json;
    try {
      json = tx.exec(execute)[0][0].as<std::string>();
    } catch (...) {
      reset();
      throw;
    }
    reset();
    return ParseExplainJson(json);
  } catch (...) {
    return StatusFromCurrentException("EXPLAIN");
  }
}

}  // namespace aves::db
