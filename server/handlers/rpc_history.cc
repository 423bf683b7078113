#include "server/handlers/rpc_history.h"

#include <algorithm>
#include <cmath>

#include <absl/strings/str_cat.h>

namespace aves::handlers {
namespace {

// Calls that ended well, or as the caller meant: a lookup that finds
// nothing (NOT_FOUND) is an answer, and a caller that gives up (CANCELLED)
// is no failure of ours. Everything else counts as an error.
bool IsError(size_t code) {
  switch (static_cast<grpc::StatusCode>(code)) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::CANCELLED:
      return false;
    default:
      return true;
  }
}

std::vector<uint64_t> Minus(const std::vector<uint64_t>& after,
                            const std::vector<uint64_t>& before) {
  std::vector<uint64_t> delta(after.size(), 0);
  for (size_t i = 0; i < after.size(); ++i) {
    const uint64_t base = i < before.size() ? before[i] : 0;
    delta[i] = after[i] >= base ? after[i] - base : 0;
  }
  return delta;
}

// "aves.data.v1.ExerciseCacheService" + "GetExercise" ->
// "ExerciseCacheService.GetExercise".
std::string LogName(const RpcMetrics::Method& method) {
  const size_t dot = method.service.rfind('.');
  return absl::StrCat(dot == std::string::npos ? method.service
                                               : method.service.substr(dot + 1),
                      ".", method.name);
}

}  // namespace

double QuantileBetween(const std::vector<double>& bounds,
                       const std::vector<uint64_t>& before,
                       const std::vector<uint64_t>& after, double q) {
  const std::vector<uint64_t> delta = Minus(after, before);
  if (delta.empty() || delta.back() == 0 || bounds.empty()) return 0;
  // Rank of the quantile among the observations, 1-based.
  const uint64_t rank = static_cast<uint64_t>(
      std::max(1.0, std::ceil(q * static_cast<double>(delta.back()))));
  for (size_t i = 0; i < bounds.size() && i < delta.size(); ++i) {
    if (delta[i] >= rank) return bounds[i];
  }
  return bounds.back();
}

RpcHistory::RpcHistory(const RpcMetrics& metrics, absl::Duration interval,
                       int capacity)
    : metrics_(metrics), interval_(interval), capacity_(capacity) {}

void RpcHistory::Sample(absl::Time now) {
  Snapshot snapshot;
  snapshot.at = now;
  for (const auto& method : metrics_.methods()) {
    Counts counts;
    for (size_t code = 0; code < method->handled.size(); ++code) {
      const auto value = static_cast<int64_t>(method->handled[code].value());
      counts.handled += value;
      if (IsError(code)) counts.errors += value;
    }
    counts.cumulative = method->handling.Snapshot().cumulative;
    snapshot.methods.push_back(std::move(counts));
  }
  absl::MutexLock lock(&mutex_);
  samples_.push_back(std::move(snapshot));
  while (samples_.size() > static_cast<size_t>(capacity_) + 1) {
    samples_.pop_front();
  }
}

std::vector<RpcHistory::MethodSeries> RpcHistory::Series(
    absl::Duration window) const {
  const auto& methods = metrics_.methods();
  std::vector<MethodSeries> series;
  absl::MutexLock lock(&mutex_);
  if (samples_.size() < 2) return series;
  const absl::Time since = samples_.back().at - window;
  // The first sample a point of the window starts from.
  size_t first = 0;
  while (first + 1 < samples_.size() && samples_[first + 1].at <= since) {
    ++first;
  }
  for (size_t m = 0; m < methods.size(); ++m) {
    const Counts& start = samples_[first].methods[m];
    const Counts& end = samples_.back().methods[m];
    if (end.handled == start.handled) continue;
    const std::vector<double>& bounds = observability::LatencyBucketsSeconds();
    MethodSeries out;
    out.method = LogName(*methods[m]);
    out.requests = end.handled - start.handled;
    out.errors = end.errors - start.errors;
    out.p99 = absl::Seconds(
        QuantileBetween(bounds, start.cumulative, end.cumulative, 0.99));
    for (size_t i = first + 1; i < samples_.size(); ++i) {
      const Counts& from = samples_[i - 1].methods[m];
      const Counts& to = samples_[i].methods[m];
      Point point;
      point.end = samples_[i].at;
      point.requests = to.handled - from.handled;
      point.errors = to.errors - from.errors;
      point.p99 = absl::Seconds(
          QuantileBetween(bounds, from.cumulative, to.cumulative, 0.99));
      out.points.push_back(point);
    }
    series.push_back(std::move(out));
  }
  std::stable_sort(series.begin(), series.end(),
                   [](const MethodSeries& a, const MethodSeries& b) {
                     return a.requests > b.requests;
                   });
  return series;
}

}  // namespace aves::handlers
