#include "server/store/timestamps.h"

#include <absl/status/status.h>
#include <absl/strings/str_cat.h>

#include "server/observability/logging.h"

namespace aves::store {

bool InApiRange(absl::Time time) {
  return time >= absl::FromUnixSeconds(kApiMinUnixSeconds) &&
         time < absl::FromUnixSeconds(kApiEndUnixSeconds);
}

absl::StatusOr<absl::Time> ApiTime(int64_t micros, absl::string_view table,
                                   absl::string_view id,
                                   absl::string_view column) {
  const absl::Time time = absl::FromUnixMicros(micros);
  if (micros == kUnrepresentableMicros || !InApiRange(time)) {
    return absl::FailedPreconditionError(absl::StrCat(
        table, " row ", id, ": ", column,
        " is outside the range the API can represent (0001-01-01 to "
        "9999-12-31); fix the row"));
  }
  return time;
}

void LogRowLeftOut(const absl::Status& why) {
  observability::Logger("store")->warn("a list left out a row: {}",
                                       std::string(why.message()));
}

}  // namespace aves::store
