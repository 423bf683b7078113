// COPY of checked rows (CopyRow: lines already in COPY text format) into a
// table, inside the caller's transaction. Names are catalog names or our
// own, quoted here.
#ifndef AVES_SERVER_BULK_COPY_ROWS_H_
#define AVES_SERVER_BULK_COPY_ROWS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "server/bulk/load_spec.h"
#include "server/db/pqxx_fwd.h"

namespace aves::bulk {

// COPYs rows[begin, end) into `quoted_table` (quoted, maybe schema-
// qualified; `columns`, in the lines' order).
void CopyRows(pqxx::transaction_base& tx, const std::string& quoted_table,
              const std::vector<std::string>& columns,
              const std::vector<CopyRow>& rows, size_t begin, size_t end);

}  // namespace aves::bulk

#endif  // AVES_SERVER_BULK_COPY_ROWS_H_
