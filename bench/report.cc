#include "bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <absl/strings/str_format.h>

#include "client/lib/table.h"

namespace aves::bench {

using client::PrintTable;
namespace {

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string JsonNumber(double value) {
  if (!std::isfinite(value)) return "null";
  return absl::StrFormat("%.6g", value);
}

}  // namespace

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid]
                                : (values[mid - 1] + values[mid]) / 2;
}

std::string FormatNumber(double value) {
  if (!std::isfinite(value)) return "-";
  if (std::fabs(value) >= 100) return absl::StrFormat("%.0f", value);
  if (std::fabs(value) >= 1) return absl::StrFormat("%.2f", value);
  return absl::StrFormat("%.3g", value);
}

void Report::Print(std::ostream& out, bool json) const {
  if (json) {
    out << "{\"benchmark\": " << JsonString(benchmark_) << ", \"results\": [";
    for (size_t i = 0; i < results_.size(); ++i) {
      out << (i ? ", " : "") << "{\"name\": " << JsonString(results_[i].name)
          << ", \"value\": " << JsonNumber(results_[i].value)
          << ", \"unit\": " << JsonString(results_[i].unit) << "}";
    }
    out << "], \"ratios\": {";
    bool first = true;
    for (const auto& [name, value] : ratios_) {
      out << (first ? "" : ", ") << JsonString(name) << ": "
          << JsonNumber(value);
      first = false;
    }
    out << "}}\n";
    return;
  }
  out << "avesbench " << benchmark_ << "\n\n";
  if (!table_.empty()) {
    PrintTable(out, table_);
    out << "\n";
  }
  for (const std::string& note : notes_) out << note << "\n";
  if (!notes_.empty()) out << "\n";
  std::vector<std::vector<std::string>> rows = {{"ratio", "value"}};
  for (const auto& [name, value] : ratios_)
    rows.push_back({name, FormatNumber(value)});
  if (rows.size() > 1) PrintTable(out, rows);
}

}  // namespace aves::bench
