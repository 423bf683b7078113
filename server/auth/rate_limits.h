// Rate limits per caller and method (AVES_RATE_LIMITS): a token bucket for
// each (method, caller) pair, refilled at the method's rate up to its burst.
// A call that finds its bucket empty is refused with the time until a token
// is back, before any work is done for it, so it is safe to retry any such
// call, write or read. Only the methods with a limit pay for a bucket: the
// others (GetExercise by default) are not counted at all.
//
// Setting format, comma-separated rules applied over the defaults:
//   Service.Method=COUNT/UNIT[:BURST]   UNIT s, min or h; BURST defaults to
//                                       COUNT (a unit's worth at once)
//   Service.Method=unlimited            lifts a default
// e.g. "ExerciseCacheService.GetExercise=2000/s:4000,
//       AdminService.VerifyIndexes=unlimited".
#ifndef AVES_SERVER_AUTH_RATE_LIMITS_H_
#define AVES_SERVER_AUTH_RATE_LIMITS_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include <absl/base/thread_annotations.h>
#include <absl/container/flat_hash_map.h>
#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>

namespace aves::auth {

struct RateLimit {
  int count = 0;
  absl::Duration per;
  int burst = 0;

  // "6/min" or "2000/s:4000", as the setting spells it.
  std::string ToString() const;
  double TokensPerSecond() const { return count / absl::ToDoubleSeconds(per); }
};

// The limited methods by short name ("AdminService.VerifyIndexes"), the form
// the access log and the setting use; a method absent is unlimited.
using RateLimitTable = std::map<std::string, RateLimit>;

// What protects the service when nothing is configured: the maintenance
// calls that scan whole tables, a few per minute per caller.
RateLimitTable DefaultRateLimits();

// `setting` (format above) over DefaultRateLimits(); INVALID_ARGUMENT naming
// the rule at fault (an unknown method, a bad rate).
absl::StatusOr<RateLimitTable> ParseRateLimits(absl::string_view setting);

// The table as text, one line per limited method, for `avesd policy`.
std::string FormatRateLimits(const RateLimitTable& limits);

// The buckets of one method. Thread-safe; a mutex per method, so limited
// methods do not contend with each other.
class RateLimiter {
 public:
  // At most `max_callers` buckets are kept (a bucket is ~300 bytes with its
  // key): when full, buckets that have refilled are dropped (a full bucket
  // is the same as none); a new caller that still finds no room is refused
  // as if its bucket were empty, so many identities cannot reset the
  // others' limits.
  explicit RateLimiter(RateLimit limit, size_t max_callers = 10'000);

  // Takes a token of `caller`'s bucket at `now`: nullopt when it had one,
  // else how long until it will.
  std::optional<absl::Duration> TryAcquire(absl::string_view caller,
                                           absl::Time now);

  const RateLimit& limit() const { return limit_; }
  size_t tracked_callers() const;

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  // `bucket` refilled up to `now`.
  void Refill(Bucket& bucket, absl::Time now) const;

  const RateLimit limit_;
  const double tokens_per_second_;
  const size_t max_callers_;
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace aves::auth

#endif  // AVES_SERVER_AUTH_RATE_LIMITS_H_
