#include "server/bulk/load_spec.h"

#include <algorithm>

namespace aves::bulk {

const char* LoadModeName(LoadMode mode) {
  switch (mode) {
    case LoadMode::kInsert:
      return "insert";
    case LoadMode::kUpsert:
      return "upsert";
    case LoadMode::kReturning:
      return "returning";
  }
  return "?";
}

std::vector<RowRange> ParseRowRanges(const std::string& multirange) {
  std::vector<RowRange> ranges;
  size_t at = 0;
  while ((at = multirange.find('[', at)) != std::string::npos) {
    const size_t comma = multirange.find(',', at);
    const size_t close = multirange.find(')', comma);
    ranges.push_back(
        {std::stoll(multirange.substr(at + 1, comma - at - 1)),
         std::stoll(multirange.substr(comma + 1, close - comma - 1))});
    at = close;
  }
  return ranges;
}

bool InRanges(const std::vector<RowRange>& ranges, int64_t index) {
  for (const RowRange& range : ranges)
    if (index >= range.first && index < range.end) return true;
  return false;
}

bool LoadState::Committed(int64_t index) const {
  return index < committed_offset || InRanges(committed_above, index);
}

void LoadState::Add(const BatchResult& batch) {
  rows_inserted += batch.rows_inserted;
  rows_updated += batch.rows_updated;
  rows_failed += batch.rows_failed;
  committed_offset = std::max(committed_offset, batch.committed_offset);
  if (batch.wrote) ++batches_committed;
}

}  // namespace aves::bulk
