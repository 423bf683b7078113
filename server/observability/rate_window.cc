#include "server/observability/rate_window.h"

#include <algorithm>

namespace aves::observability {

void RateWindow::Advance(int64_t second) {
  if (second <= newest_second_) return;
  // Clear the slots of the seconds that passed without events.
  const int64_t steps = std::min<int64_t>(second - newest_second_, 60);
  for (int64_t i = 1; i <= steps; ++i) slots_[(newest_second_ + i) % 60] = 0;
  newest_second_ = second;
}

int64_t RateWindow::Add(absl::Time now) {
  const int64_t second = absl::ToUnixSeconds(now);
  Advance(second);
  if (second > newest_second_ - 60) slots_[second % 60]++;
  return CountAt(now);
}

int64_t RateWindow::CountAt(absl::Time now) {
  Advance(absl::ToUnixSeconds(now));
  int64_t total = 0;
  for (int64_t count : slots_) total += count;
  return total;
}

}  // namespace aves::observability
