#include "server/bulk/bulk_sql.h"

#include "server/db/sql_identifier.h"

namespace aves::bulk::sql {

using db::JoinQuotedIdentifiers;
using db::QuoteIdentifier;

std::string CreateBatchTable(const LoadSpec& spec) {
  return std::string(
             AVES_SQL_NAME("bulk_create_batch_table") "CREATE TEMP TABLE ") +
         kBatchTable + " ON COMMIT DROP AS SELECT " +
         JoinQuotedIdentifiers(spec.columns) + " FROM " +
         QuoteIdentifier(spec.table) + " WITH NO DATA";
}

std::string MoveRows(const LoadSpec& spec, const std::string& source) {
  const std::string columns = JoinQuotedIdentifiers(spec.columns);
  std::string text =
      AVES_SQL_NAME("bulk_move_rows") "WITH moved AS (INSERT INTO " +
      QuoteIdentifier(spec.table) + " (" + columns + ") SELECT " + columns +
      " FROM " + source;
  if (spec.mode == LoadMode::kUpsert) {
    text += " ON CONFLICT (" + JoinQuotedIdentifiers(spec.conflict_columns) +
            ") DO ";
    if (spec.update_columns.empty()) {
      text += "NOTHING";
    } else {
      text += "UPDATE SET ";
      for (size_t i = 0; i < spec.update_columns.size(); ++i) {
        const std::string column = QuoteIdentifier(spec.update_columns[i]);
        text += (i ? ", " : "") + column + " = EXCLUDED." + column;
      }
    }
  }
  return text +
         " RETURNING xmax = 0 AS fresh) SELECT count(*) FILTER (WHERE fresh), "
         "count(*) FILTER (WHERE NOT fresh) FROM moved";
}

std::string InsertReturning(const LoadSpec& spec) {
  const std::string columns = JoinQuotedIdentifiers(spec.columns);
  return AVES_SQL_NAME("bulk_insert_returning") "INSERT INTO " +
         QuoteIdentifier(spec.table) + " (" + columns + ") SELECT " + columns +
         " FROM " + kBatchTable + " ORDER BY ctid RETURNING " +
         JoinQuotedIdentifiers(spec.returning_columns);
}

std::string LastRowPerKey(const LoadSpec& spec, const std::string& stage) {
  const std::string key = JoinQuotedIdentifiers(spec.conflict_columns);
  return "(SELECT DISTINCT ON (" + key + ") * FROM " + stage + " ORDER BY " +
         key + ", aves_row DESC) AS last_rows";
}

std::string RowsBetween(const std::string& source) {
  return "(SELECT * FROM " + source +
         " WHERE aves_row >= $1 AND aves_row < $2) AS part";
}

std::string CreateStage(const LoadSpec& spec, const std::string& stage) {
  return AVES_SQL_NAME("bulk_create_stage") "CREATE UNLOGGED TABLE " + stage +
         " AS SELECT " + JoinQuotedIdentifiers(spec.columns) + " FROM " +
         QuoteIdentifier(spec.table) + " WITH NO DATA";
}

std::vector<db::PreparedStatement> NamedStatements() {
  std::vector<db::PreparedStatement> named;
  for (const char* text :
       {kOpenLoad, kCreateLoad, kRecordAttempt, kRenewLeases, kReleaseLease,
        kCommittedPart, kMarkCommitted, kSaveReturned, kStoredReturned,
        kDeleteIdleReturned, kTouchLoad, kPublishOffset, kAbandonedAttempts,
        kListStages, kRunningAttempts, kConstraintColumns}) {
    named.push_back({std::string(db::StatementNameOf(text)), text});
  }
  // Built at run time (tables and columns of a load): timed, never planned.
  for (const char* name :
       {"bulk_create_batch_table", "bulk_move_rows", "bulk_insert_returning",
        "bulk_create_stage", "bulk_drop_stage", "bulk_add_row_number",
        "bulk_clear_batch_table", "bulk_copy"}) {
    named.push_back({name, ""});
  }
  return named;
}

}  // namespace aves::bulk::sql
