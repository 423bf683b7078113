#include "server/bulk/row_errors.h"

#include "server/common/field_error.h"

namespace aves::bulk {

bool IsRowErrorSqlState(const std::string& state) {
  // 54000: a row too large for an index on the table (a 10 KiB text in a
  // btree): that row's data, not the load's.
  return state.size() == 5 &&
         (state.rfind("21", 0) == 0 || state.rfind("22", 0) == 0 ||
          state.rfind("23", 0) == 0 || state == "54000");
}

absl::Status NoConflictTarget() {
  return common::InvalidField(
      "header.conflict_columns",
      "no unique index or constraint is on exactly these columns");
}

}  // namespace aves::bulk
