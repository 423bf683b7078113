#include "server/bulk/copy_rows.h"

#include <pqxx/tablewriter>
#include <pqxx/transaction_base>

#include "server/db/sql_identifier.h"

namespace aves::bulk {

// libpqxx 6.4's public raw-line COPY writer is the deprecated tablewriter
// (stream_to keeps its raw-line writer private); it puts the names into COPY
// as given, so they go in quoted.
void CopyRows(pqxx::transaction_base& tx, const std::string& quoted_table,
              const std::vector<std::string>& columns,
              const std::vector<CopyRow>& rows, size_t begin, size_t end) {
  std::vector<std::string> quoted;
  quoted.reserve(columns.size());
  for (const std::string& column : columns)
    quoted.push_back(db::QuoteIdentifier(column));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  pqxx::tablewriter copy(tx, quoted_table, quoted.begin(), quoted.end());
  for (size_t i = begin; i < end; ++i) copy.write_raw_line(rows[i].line);
  copy.complete();
#pragma GCC diagnostic pop
}

}  // namespace aves::bulk
