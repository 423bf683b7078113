// The output every avesbench benchmark shares: a results table for people,
// or with --json one object
//   {"benchmark": NAME, "results": [{"name", "value", "unit"}...], "ratios":
//   {NAME: VALUE}}
#ifndef AVES_BENCH_REPORT_H_
#define AVES_BENCH_REPORT_H_

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace aves::bench {

struct Result {
  std::string name;
  double value = 0;
  std::string unit;
};

class Report {
 public:
  explicit Report(std::string benchmark) : benchmark_(std::move(benchmark)) {}

  void Add(std::string name, double value, std::string unit) {
    results_.push_back({std::move(name), value, std::move(unit)});
  }
  void AddRatio(const std::string& name, double value) {
    ratios_[name] = value;
  }
  // A human-readable table printed before the results in text mode.
  void SetTable(std::vector<std::vector<std::string>> rows) {
    table_ = std::move(rows);
  }
  // A line printed under the table in text mode (figures that do not fit
  // its columns; --json has them as results).
  void AddNote(std::string line) { notes_.push_back(std::move(line)); }

  void Print(std::ostream& out, bool json) const;

 private:
  std::string benchmark_;
  std::vector<Result> results_;
  std::map<std::string, double> ratios_;
  std::vector<std::vector<std::string>> table_;
  std::vector<std::string> notes_;
};

// Median of `values` (which it reorders); 0 when empty.
double Median(std::vector<double> values);

// "12.3", "0.045", "1234": a few significant digits for tables.
std::string FormatNumber(double value);

}  // namespace aves::bench

#endif  // AVES_BENCH_REPORT_H_
