// Rows from files for bulk loads: CSV with a header row (RFC 4180: quoted
// fields, "" inside quotes, line breaks inside quotes; an empty unquoted
// field is NULL, a quoted "" is the empty string, as PostgreSQL's CSV COPY
// reads them) and JSON lines (one object per line; its keys are columns).
#ifndef AVES_CLIENT_LIB_ROW_FILES_H_
#define AVES_CLIENT_LIB_ROW_FILES_H_

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>

#include "aves/data/v1/bulk_insert.pb.h"

namespace aves::client {

class RowFile {
 public:
  virtual ~RowFile() = default;
  // Opens `path` as "csv" or "jsonl". CSV reads its header row here.
  static absl::StatusOr<std::unique_ptr<RowFile>> Open(
      const std::string& path, const std::string& format);

  // The columns: CSV's header; for JSON lines, the first object's keys,
  // sorted.
  virtual const std::vector<std::string>& columns() const = 0;
  // The next row as cells for `columns` (a subset of columns(), in that
  // order); false at the end. A malformed line is INVALID_ARGUMENT naming
  // its line number.
  virtual absl::StatusOr<bool> Next(const std::vector<std::string>& columns,
                                    data::v1::Row* row) = 0;
  // Rows in the file, counted by a quick pass (for progress); nullopt when
  // not cheaply known.
  virtual std::optional<int64_t> CountRows() const = 0;
};

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_ROW_FILES_H_
