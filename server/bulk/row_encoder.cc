#include "server/bulk/row_encoder.h"

#include <absl/strings/str_cat.h>

namespace aves::bulk {

absl::Status RowEncoder::Encode(int64_t index, int cell_count,
                                absl::FunctionRef<CellValue(int)> cell,
                                std::string* line) const {
  if (cell_count != static_cast<int>(columns_.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("row ", index, ": ", cell_count, " cells for ",
                     columns_.size(), " columns"));
  }
  line->clear();
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (c > 0) line->push_back('\t');
    const CellValue value = cell(static_cast<int>(c));
    absl::Status bad =
        value.type == CellValue::Type::kNull && !columns_[c]->nullable
            ? absl::InvalidArgumentError("NULL in a NOT NULL column")
            : AppendCopyField(value, columns_[c]->kind, line);
    if (!bad.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "row ", index, ", column ", columns_[c]->name, ": ", bad.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace aves::bulk
