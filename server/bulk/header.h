// The header of a bulk load, as a client sent it (LoadRequest: the handler
// copies it out of the API's InsertHeader), checked against the catalog and
// the limits into the LoadSpec a load runs with. Every refusal is
// INVALID_ARGUMENT naming the field ("header.columns[2]: ...").
#ifndef AVES_SERVER_BULK_HEADER_H_
#define AVES_SERVER_BULK_HEADER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>

#include "server/bulk/load_spec.h"
#include "server/bulk/table_catalog.h"

namespace aves::bulk {

struct LoadRequest {
  std::string load_id;  // empty: the server picks one
  std::string table;
  std::vector<std::string> columns;
  // nullopt: no mode given, or (unknown_mode) one this build does not know.
  std::optional<LoadMode> mode;
  bool unknown_mode = false;
  std::vector<std::string> conflict_columns;
  std::vector<std::string> update_columns;
  std::vector<std::string> returning_columns;
  bool atomic = false;
  int64_t batch_size = 0;  // 0: the default
  int64_t total_rows = 0;
  std::optional<int64_t> max_errors;  // nullopt: the server's default
};

struct HeaderLimits {
  int default_batch_rows = 5000;
  int max_batch_rows = 50'000;  // AVES_BULK_MAX_BATCH_ROWS
  size_t max_load_id_bytes = 200;
  int64_t default_max_errors = 1000;   // AVES_BULK_DEFAULT_MAX_ERRORS
  int64_t max_max_errors = 1'000'000;  // AVES_BULK_MAX_ERRORS
};

// A load's spec and its columns' catalog entries, in row order.
struct ValidatedHeader {
  LoadSpec spec;
  std::vector<const ColumnInfo*> columns;
};

// Checks `request` (in field order: table, columns — every NOT NULL
// column without a default must be one —, mode and its columns,
// batch_size, total_rows, load_id, max_errors). A request without a load id
// gets a random one.
absl::StatusOr<ValidatedHeader> ValidateHeader(const LoadRequest& request,
                                               const TableCatalog& catalog,
                                               const HeaderLimits& limits);

}  // namespace aves::bulk

#endif  // AVES_SERVER_BULK_HEADER_H_
