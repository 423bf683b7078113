#include "server/bulk/header.h"

#include <algorithm>
#include <utility>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>

#include "server/common/crypto.h"
#include "server/common/field_error.h"
#include "server/common/status_macros.h"
#include "server/common/validation.h"

namespace aves::bulk {
namespace {

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// UPSERT's conflict target and the columns it updates: catalog columns that
// the rows give; an updated column cannot be part of the target.
absl::Status CheckUpsertColumns(const LoadRequest& request,
                                const TableInfo& table) {
  if (request.conflict_columns.empty()) {
    return common::InvalidField("header.conflict_columns",
                                "UPSERT needs the unique columns to meet on");
  }
  for (const auto& [field, names] :
       {std::pair{"header.conflict_columns", &request.conflict_columns},
        std::pair{"header.update_columns", &request.update_columns}}) {
    RETURN_IF_ERROR(TableCatalog::Columns(table, *names, field).status());
    for (size_t i = 0; i < names->size(); ++i) {
      if (!Contains(request.columns, (*names)[i])) {
        return common::InvalidField(
            absl::StrCat(field, "[", i, "]"),
            absl::StrCat("'", (*names)[i], "' is not one of header.columns"));
      }
    }
  }
  for (size_t i = 0; i < request.update_columns.size(); ++i) {
    if (Contains(request.conflict_columns, request.update_columns[i])) {
      return common::InvalidField(
          absl::StrCat("header.update_columns[", i, "]"),
          "a conflict column cannot be updated");
    }
  }
  return absl::OkStatus();
}

// Every row of the load would be refused for a NOT NULL column without a
// default that the header leaves out: refused once, up front.
absl::Status CheckRequiredColumns(const LoadRequest& request,
                                  const TableInfo& table) {
  std::vector<std::string> missing;
  for (const ColumnInfo& column : table.columns) {
    if (!column.nullable && !column.has_default &&
        !Contains(request.columns, column.name)) {
      missing.push_back(column.name);
    }
  }
  if (missing.empty()) return absl::OkStatus();
  return common::InvalidField(
      "header.columns",
      absl::StrCat("leaves out ", absl::StrJoin(missing, ", "), " of ",
                   table.name,
                   ": NOT NULL without a default, so every row would be "
                   "refused"));
}

// The load's max_errors: the request's, checked, or the server's default.
absl::StatusOr<int64_t> MaxErrors(const LoadRequest& request,
                                  const HeaderLimits& limits) {
  if (request.atomic) {
    if (request.max_errors.value_or(0) != 0) {
      return common::InvalidField(
          "header.max_errors",
          "an atomic load fails at its first bad row: leave it unset or 0");
    }
    return 0;
  }
  if (!request.max_errors.has_value()) return limits.default_max_errors;
  if (*request.max_errors < 0 || *request.max_errors > limits.max_max_errors) {
    return common::InvalidField(
        "header.max_errors",
        absl::StrCat(*request.max_errors, " is outside [0, ",
                     limits.max_max_errors, "] (AVES_BULK_MAX_ERRORS)"));
  }
  return *request.max_errors;
}

// The mode and the columns it needs.
absl::Status CheckMode(const LoadRequest& request, const TableInfo& table) {
  if (!request.mode.has_value()) {
    return common::InvalidField(
        "header.mode", request.unknown_mode ? "unknown mode" : "required");
  }
  switch (*request.mode) {
    case LoadMode::kInsert:
      return absl::OkStatus();
    case LoadMode::kUpsert:
      return CheckUpsertColumns(request, table);
    case LoadMode::kReturning:
      if (request.returning_columns.empty()) {
        return common::InvalidField("header.returning_columns",
                                    "RETURNING needs the columns to send back");
      }
      RETURN_IF_ERROR(TableCatalog::Columns(table, request.returning_columns,
                                            "header.returning_columns")
                          .status());
      if (request.atomic) {
        // Returned rows stream back per batch; an atomic load would have to
        // hold them all until it publishes. The caller's choice, refused.
        return common::InvalidField(
            "header.atomic",
            "RETURNING loads commit per batch; they cannot be atomic");
      }
      return absl::OkStatus();
  }
  return common::InvalidField("header.mode", "unknown mode");
}

}  // namespace

absl::StatusOr<ValidatedHeader> ValidateHeader(const LoadRequest& request,
                                               const TableCatalog& catalog,
                                               const HeaderLimits& limits) {
  ASSIGN_OR_RETURN(const TableInfo* table,
                   catalog.Table("header.table", request.table));
  if (request.columns.empty()) {
    return common::InvalidField("header.columns", "required");
  }
  ValidatedHeader header;
  ASSIGN_OR_RETURN(
      header.columns,
      TableCatalog::Columns(*table, request.columns, "header.columns"));
  RETURN_IF_ERROR(CheckRequiredColumns(request, *table));
  RETURN_IF_ERROR(CheckMode(request, *table));
  if (request.batch_size < 0 || request.batch_size > limits.max_batch_rows) {
    return common::InvalidField(
        "header.batch_size",
        absl::StrCat(request.batch_size, " is outside [0, ",
                     limits.max_batch_rows, "]"));
  }
  if (request.total_rows < 0) {
    return common::InvalidField("header.total_rows", "must not be negative");
  }
  RETURN_IF_ERROR(common::ValidateText("header.load_id", request.load_id,
                                       limits.max_load_id_bytes, false));
  ASSIGN_OR_RETURN(const int64_t max_errors, MaxErrors(request, limits));
  LoadSpec& spec = header.spec;
  spec.load_id =
      request.load_id.empty() ? common::RandomUuid() : request.load_id;
  spec.table = table->name;
  for (const ColumnInfo* column : header.columns)
    spec.columns.push_back(column->name);
  spec.mode = *request.mode;
  spec.atomic = request.atomic;
  spec.total_rows = request.total_rows;
  spec.max_errors = max_errors;
  spec.batch_rows =
      request.batch_size > 0
          ? static_cast<int>(request.batch_size)
          : std::min(limits.default_batch_rows, limits.max_batch_rows);
  if (spec.mode == LoadMode::kUpsert) {
    spec.conflict_columns = request.conflict_columns;
    spec.update_columns = request.update_columns;
  }
  if (spec.mode == LoadMode::kReturning) {
    spec.returning_columns = request.returning_columns;
  }
  return header;
}

}  // namespace aves::bulk
