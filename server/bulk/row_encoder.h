// RowEncoder: one row of typed cells, checked against a load's columns (cell
// count, NOT NULL, each cell's type and range: copy_text.h) and encoded as
// its COPY text line. A refusal names the row and the column, so it can be
// recorded as that row's error while the rest of the load goes on.
#ifndef AVES_SERVER_BULK_ROW_ENCODER_H_
#define AVES_SERVER_BULK_ROW_ENCODER_H_

#include <cstdint>
#include <string>
#include <vector>

#include <absl/functional/function_ref.h>
#include <absl/status/status.h>

#include "server/bulk/copy_text.h"
#include "server/bulk/table_catalog.h"

namespace aves::bulk {

class RowEncoder {
 public:
  RowEncoder() = default;
  // `columns`: catalog entries, in row order (they must outlive the
  // encoder).
  explicit RowEncoder(std::vector<const ColumnInfo*> columns)
      : columns_(std::move(columns)) {}

  size_t columns() const { return columns_.size(); }

  // Encodes row `index` of `cell_count` cells (`cell(c)` gives cell c) into
  // `line`, or INVALID_ARGUMENT "row 7, column email: ..." saying why not.
  absl::Status Encode(int64_t index, int cell_count,
                      absl::FunctionRef<CellValue(int)> cell,
                      std::string* line) const;

 private:
  std::vector<const ColumnInfo*> columns_;
};

}  // namespace aves::bulk

#endif  // AVES_SERVER_BULK_ROW_ENCODER_H_
