#include "server/observability/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>

namespace aves::observability {
namespace {

constexpr double kNanos = 1e9;

// Label values escape backslash, double quote and line feed; HELP text
// backslash and line feed (the format's rules).
void AppendEscaped(std::string* out, absl::string_view text, bool quotes) {
  for (char c : text) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && quotes) {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

void AppendValue(std::string* out, double value) {
  if (std::isnan(value)) {
    out->append("NaN");
  } else if (std::isinf(value)) {
    out->append(value > 0 ? "+Inf" : "-Inf");
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    absl::StrAppend(out, static_cast<int64_t>(value));
  } else {
    // The shortest form that reads back as the same double ("0.1", not
    // "0.10000000000000001").
    std::string text;
    for (int digits = 15; digits <= 17; ++digits) {
      text = absl::StrFormat("%.*g", digits, value);
      if (std::strtod(text.c_str(), nullptr) == value) break;
    }
    out->append(text);
  }
}

void AppendLabels(std::string* out, const Labels& labels,
                  const std::pair<std::string, std::string>* extra) {
  if (labels.empty() && extra == nullptr) return;
  out->push_back('{');
  bool first = true;
  auto add = [&](const std::pair<std::string, std::string>& label) {
    if (!first) out->push_back(',');
    first = false;
    absl::StrAppend(out, label.first, "=\"");
    AppendEscaped(out, label.second, /*quotes=*/true);
    out->push_back('"');
  };
  for (const auto& label : labels) add(label);
  if (extra != nullptr) add(*extra);
  out->push_back('}');
}

}  // namespace

const std::vector<double>& LatencyBucketsSeconds() {
  static const std::vector<double> bounds = {
      0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,     0.25,   0.5,   1,      2.5,   5,    10};
  return bounds;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double value) {
  // "le": a value on a bound counts in that bound's bucket.
  const size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  if (value > 0) {
    sum_nanos_.fetch_add(static_cast<uint64_t>(value * kNanos),
                         std::memory_order_relaxed);
  }
}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot snapshot;
  snapshot.bounds = bounds_;
  snapshot.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative[i] = running;
  }
  snapshot.sum = sum_nanos_.load(std::memory_order_relaxed) / kNanos;
  return snapshot;
}

void Exposition::Family(absl::string_view name, Type type,
                        absl::string_view help) {
  absl::StrAppend(&text_, "# HELP ", name, " ");
  AppendEscaped(&text_, help, /*quotes=*/false);
  absl::StrAppend(&text_, "\n# TYPE ", name, " ",
                  type == Type::kCounter ? "counter"
                  : type == Type::kGauge ? "gauge"
                                         : "histogram",
                  "\n");
}

void Exposition::Sample(absl::string_view name, const Labels& labels,
                        double value) {
  text_.append(name.data(), name.size());
  AppendLabels(&text_, labels, nullptr);
  text_.push_back(' ');
  AppendValue(&text_, value);
  text_.push_back('\n');
}

void Exposition::Histogram(absl::string_view name, const Labels& labels,
                           const HistogramSnapshot& snapshot) {
  const std::string bucket = absl::StrCat(name, "_bucket");
  for (size_t i = 0; i <= snapshot.bounds.size(); ++i) {
    std::pair<std::string, std::string> le("le", "+Inf");
    if (i < snapshot.bounds.size()) {
      le.second.clear();
      AppendValue(&le.second, snapshot.bounds[i]);
    }
    text_.append(bucket);
    AppendLabels(&text_, labels, &le);
    text_.push_back(' ');
    AppendValue(&text_, static_cast<double>(snapshot.cumulative[i]));
    text_.push_back('\n');
  }
  Sample(absl::StrCat(name, "_sum"), labels, snapshot.sum);
  Sample(absl::StrCat(name, "_count"), labels,
         static_cast<double>(snapshot.cumulative.back()));
}

void MetricsRegistry::Add(Collector collector) {
  absl::MutexLock lock(&mutex_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::Render() const {
  Exposition exposition;
  absl::MutexLock lock(&mutex_);
  for (const Collector& collector : collectors_) collector(exposition);
  return exposition.Take();
}

}  // namespace aves::observability
