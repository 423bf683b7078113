// RateWindow: events in the last minute, in one-second slots, so "errors per
// minute" is a sliding rate rather than a lifetime count. Not thread-safe.
#ifndef AVES_SERVER_OBSERVABILITY_RATE_WINDOW_H_
#define AVES_SERVER_OBSERVABILITY_RATE_WINDOW_H_

#include <array>
#include <cstdint>

#include <absl/time/time.h>

namespace aves::observability {

class RateWindow {
 public:
  // Records one event at `now` and returns the count over the last 60 s.
  int64_t Add(absl::Time now);
  // Events within the 60 s ending at `now`.
  int64_t CountAt(absl::Time now);

 private:
  void Advance(int64_t second);
  std::array<int64_t, 60> slots_{};
  int64_t newest_second_ = 0;  // the second slot (newest_second_ % 60) counts
};

}  // namespace aves::observability

#endif  // AVES_SERVER_OBSERVABILITY_RATE_WINDOW_H_
