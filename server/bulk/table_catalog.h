// TableCatalog: the tables bulk loads may write and their columns, read from
// the live catalog (information_schema) at start-up. Request strings are only
// ever looked up here, by exact name; SQL uses the catalog's own names,
// quoted (db::QuoteIdentifier). A name that looks like SQL is just a name
// that is not in the catalog.
#ifndef AVES_SERVER_BULK_TABLE_CATALOG_H_
#define AVES_SERVER_BULK_TABLE_CATALOG_H_

#include <map>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>

#include "server/bulk/copy_text.h"
#include "server/common/call_context.h"

namespace aves::db {
class Database;
}  // namespace aves::db

namespace aves::bulk {

struct ColumnInfo {
  std::string name;
  std::string
      data_type;  // information_schema's, e.g. "timestamp with time zone"
  ColumnKind kind = ColumnKind::kOther;
  bool nullable = true;
  bool has_default = false;
};

struct TableInfo {
  std::string name;
  std::vector<ColumnInfo> columns;  // in table order
};

class TableCatalog {
 public:
  // The schema's eight tables.
  static std::vector<std::string> DefaultTables();

  // Reads the columns of `allowed` (schema public). FAILED_PRECONDITION
  // naming a table that does not exist (schema not migrated?).
  static absl::StatusOr<TableCatalog> Load(
      db::Database& database, const common::CallContext& context,
      const std::vector<std::string>& allowed);

  // A catalog of these tables, as given (for tests of what uses one).
  static TableCatalog Of(std::vector<TableInfo> tables);

  // INVALID_ARGUMENT naming `field` unless `name` is an allowed table.
  absl::StatusOr<const TableInfo*> Table(absl::string_view field,
                                         absl::string_view name) const;

  // `names` resolved in order; INVALID_ARGUMENT naming "<field>[i]" for an
  // unknown or repeated column.
  static absl::StatusOr<std::vector<const ColumnInfo*>> Columns(
      const TableInfo& table, const std::vector<std::string>& names,
      absl::string_view field);

 private:
  std::map<std::string, TableInfo, std::less<>> tables_;
};

}  // namespace aves::bulk

#endif  // AVES_SERVER_BULK_TABLE_CATALOG_H_
