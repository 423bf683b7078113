#include "server/bulk/bulk_metrics.h"

#include <absl/strings/str_cat.h>

namespace aves::bulk {

using observability::Exposition;

BulkMetrics::BulkMetrics(const std::vector<std::string>& tables) {
  for (const std::string& table : tables) {
    for (LoadMode mode :
         {LoadMode::kInsert, LoadMode::kUpsert, LoadMode::kReturning}) {
      const std::string key = absl::StrCat(table, "/", LoadModeName(mode));
      if (by_key_.contains(key)) continue;
      series_.push_back(std::make_unique<Series>());
      series_.back()->table = table;
      series_.back()->mode = LoadModeName(mode);
      by_key_[key] = series_.back().get();
    }
  }
}

BulkMetrics::Series* BulkMetrics::Find(const std::string& table,
                                       LoadMode mode) {
  auto found = by_key_.find(absl::StrCat(table, "/", LoadModeName(mode)));
  return found == by_key_.end() ? nullptr : found->second;
}

void BulkMetrics::RowsCommitted(const std::string& table, LoadMode mode,
                                int64_t inserted, int64_t updated,
                                int64_t failed) {
  Series* series = Find(table, mode);
  if (series == nullptr) return;  // not a bulk table: no load reaches here
  if (inserted > 0) series->inserted.Add(inserted);
  if (updated > 0) series->updated.Add(updated);
  if (failed > 0) series->failed.Add(failed);
}

void BulkMetrics::BatchCommitted(const std::string& table, LoadMode mode,
                                 absl::Duration elapsed) {
  Series* series = Find(table, mode);
  if (series == nullptr) return;
  series->batches.Add();
  series->batch_duration.ObserveDuration(elapsed);
}

void BulkMetrics::Collect(Exposition& out) const {
  out.Family("aves_bulk_rows_total", Exposition::Type::kCounter,
             "Rows of bulk loads committed, by table, mode and outcome.");
  for (const auto& series : series_) {
    for (const auto& [outcome, counter] :
         {std::pair{"inserted", &series->inserted},
          std::pair{"updated", &series->updated},
          std::pair{"failed", &series->failed}}) {
      out.Sample("aves_bulk_rows_total",
                 {{"table", series->table},
                  {"mode", series->mode},
                  {"outcome", outcome}},
                 counter->value());
    }
  }
  out.Family("aves_bulk_batches_total", Exposition::Type::kCounter,
             "Batches of bulk loads committed (atomic loads: staged).");
  for (const auto& series : series_) {
    out.Sample("aves_bulk_batches_total",
               {{"table", series->table}, {"mode", series->mode}},
               series->batches.value());
  }
  out.Family("aves_bulk_batch_duration_seconds", Exposition::Type::kHistogram,
             "Time to commit (or stage) one batch of a bulk load.");
  for (const auto& series : series_) {
    out.Histogram("aves_bulk_batch_duration_seconds",
                  {{"table", series->table}, {"mode", series->mode}},
                  series->batch_duration.Snapshot());
  }
  out.Family("aves_bulk_loads_in_progress", Exposition::Type::kGauge,
             "Bulk loads open (header accepted, not yet ended).");
  out.Sample("aves_bulk_loads_in_progress", {}, in_progress_.value());
}

}  // namespace aves::bulk
