#include "server/bulk/table_catalog.h"

#include <set>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <pqxx/pqxx>

#include "server/common/field_error.h"
#include "server/common/status_macros.h"
#include "server/db/array_literal.h"
#include "server/db/database.h"
#include "server/db/errors.h"
#include "server/db/statement_name.h"

namespace aves::bulk {

std::vector<std::string> TableCatalog::DefaultTables() {
  return {"users",
          "vocabulary",
          "user_progress",
          "images",
          "exercise_cache",
          "batch_jobs",
          "ai_annotation_items",
          "batch_job_errors"};
}

absl::StatusOr<TableCatalog> TableCatalog::Load(
    db::Database& database, const common::CallContext& context,
    const std::vector<std::string>& allowed) {
  TableCatalog catalog;
  absl::Status status = database.Run(
      context, db::Access::kRead, [&](pqxx::connection_base& connection) {
        pqxx::nontransaction tx(connection);
        pqxx::result rows = tx.exec_params(
            AVES_SQL_NAME("bulk_table_catalog") "SELECT table_name, column_name, data_type, is_nullable = 'YES', "
            "column_default IS NOT NULL OR is_identity = 'YES' "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = ANY($1::text[]) ORDER BY table_name, "
            "ordinal_position",
            db::TextArrayLiteral(allowed));
        catalog.tables_.clear();
        for (const pqxx::row& row : rows) {
          TableInfo& table = catalog.tables_[row[0].as<std::string>()];
          table.name = row[0].as<std::string>();
          ColumnInfo column;
          column.name = row[1].as<std::string>();
          column.data_type = row[2].as<std::string>();
          column.kind = ColumnKindFromDataType(column.data_type);
          column.nullable = row[3].as<bool>();
          column.has_default = row[4].as<bool>();
          table.columns.push_back(std::move(column));
        }
        return absl::OkStatus();
      });
  if (!status.ok()) {
    return common::WithContext(status, "reading the table catalog");
  }
  for (const std::string& name : allowed) {
    if (catalog.tables_.find(name) == catalog.tables_.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("bulk-load table '", name,
                       "' does not exist (schema not migrated?)"));
    }
  }
  return catalog;
}

TableCatalog TableCatalog::Of(std::vector<TableInfo> tables) {
  TableCatalog catalog;
  for (TableInfo& table : tables) {
    std::string name = table.name;
    catalog.tables_.emplace(std::move(name), std::move(table));
  }
  return catalog;
}

absl::StatusOr<const TableInfo*> TableCatalog::Table(
    absl::string_view field, absl::string_view name) const {
  auto found = tables_.find(name);
  if (found == tables_.end()) {
    std::vector<std::string> known;
    for (const auto& [table_name, info] : tables_) known.push_back(table_name);
    return common::InvalidField(
        field,
        absl::StrCat("'", name, "' is not a table bulk loads may write (",
                     absl::StrJoin(known, ", "), ")"));
  }
  return &found->second;
}

absl::StatusOr<std::vector<const ColumnInfo*>> TableCatalog::Columns(
    const TableInfo& table, const std::vector<std::string>& names,
    absl::string_view field) {
  std::vector<const ColumnInfo*> columns;
  std::set<std::string> seen;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string where = absl::StrCat(field, "[", i, "]");
    const ColumnInfo* match = nullptr;
    for (const ColumnInfo& column : table.columns)
      if (column.name == names[i]) match = &column;
    if (match == nullptr) {
      return common::InvalidField(
          where,
          absl::StrCat("'", names[i], "' is not a column of ", table.name));
    }
    if (!seen.insert(names[i]).second) {
      return common::InvalidField(
          where, absl::StrCat("column '", names[i], "' is given twice"));
    }
    columns.push_back(match);
  }
  return columns;
}

}  // namespace aves::bulk
