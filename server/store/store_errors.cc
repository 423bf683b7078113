#include "server/store/store_errors.h"

#include <optional>
#include <string>

#include <absl/strings/str_cat.h>
#include <absl/strings/strip.h>

#include "server/common/field_error.h"
#include "server/db/errors.h"

namespace aves::store {

absl::Status NameInvalidJson(const absl::Status& status,
                             absl::string_view field) {
  const std::optional<std::string> sqlstate = db::SqlStateOf(status);
  if (sqlstate != "22P02" && sqlstate != "22032") return status;
  // PostgreSQL's first line says what is wrong ("Token "x" is invalid"
  // follows).
  absl::string_view detail = status.message();
  detail = detail.substr(0, detail.find('\n'));
  absl::ConsumePrefix(&detail, "ERROR:  ");
  return common::InvalidField(field,
                              absl::StrCat("not valid JSON (", detail, ")"));
}

}  // namespace aves::store
