// Timestamps as the stores read them: Unix microseconds, computed in SQL by
// aves_epoch_us (migration 013; AVES_EPOCH_US in queries.h), which turns a
// value the API cannot represent —
// 'infinity', '-infinity', a year past 9999 or before 1, written by another
// program before migration 013 refused them — into a sentinel instead of an
// error, so one such row can never fail a statement that reads many. The
// row itself then fails only its own read (ApiTime).
#ifndef AVES_SERVER_STORE_TIMESTAMPS_H_
#define AVES_SERVER_STORE_TIMESTAMPS_H_

#include <cstdint>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/time/time.h>

namespace aves::store {

// What AVES_EPOCH_US yields for a timestamp outside the API's range.
inline constexpr int64_t kUnrepresentableMicros = -9223372036854775807;

// The earliest and the first past the latest instant google.protobuf.Timestamp
// represents: 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z.
inline constexpr int64_t kApiMinUnixSeconds = -62135596800;
inline constexpr int64_t kApiEndUnixSeconds = 253402300800;

// True when `time` lies in [0001-01-01, 10000-01-01).
bool InApiRange(absl::Time time);

// `micros` as a time, or FAILED_PRECONDITION "<table> row <id>: <column> is
// outside the range the API can represent (0001-01-01 to 9999-12-31)".
absl::StatusOr<absl::Time> ApiTime(int64_t micros, absl::string_view table,
                                   absl::string_view id,
                                   absl::string_view column);

// A list leaves out a row it cannot represent (so one stored value never
// breaks a page for every reader) and says so in the log, naming the row.
void LogRowLeftOut(const absl::Status& why);

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_TIMESTAMPS_H_
