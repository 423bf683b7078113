// Bulk loads on /metrics: rows by table, mode and outcome
// (aves_bulk_rows_total{table,mode,outcome}: inserted, updated, failed),
// batches and their duration, and the loads in progress. Rows count when
// they are committed to the table: per batch, or for an atomic load at its
// publish (its refused rows too, so one load counts once); a batch of an
// atomic load is a staged batch. Tables are the bulk allow-list fixed at
// start, so the series are bounded; counters are relaxed atomics.
#ifndef AVES_SERVER_BULK_BULK_METRICS_H_
#define AVES_SERVER_BULK_BULK_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/time/time.h>

#include "server/bulk/load_spec.h"
#include "server/observability/metrics.h"

namespace aves::bulk {

class BulkMetrics {
 public:
  explicit BulkMetrics(const std::vector<std::string>& tables);

  void RowsCommitted(const std::string& table, LoadMode mode, int64_t inserted,
                     int64_t updated, int64_t failed);
  void BatchCommitted(const std::string& table, LoadMode mode,
                      absl::Duration elapsed);
  void LoadStarted() { in_progress_.Add(1); }
  void LoadEnded() { in_progress_.Add(-1); }

  void Collect(observability::Exposition& out) const;

 private:
  struct Series {
    std::string table;
    std::string mode;
    observability::Counter inserted, updated, failed, batches;
    observability::Histogram batch_duration;
  };
  Series* Find(const std::string& table, LoadMode mode);

  std::vector<std::unique_ptr<Series>> series_;
  absl::flat_hash_map<std::string, Series*> by_key_;  // "table/mode"
  observability::Gauge in_progress_;
};

}  // namespace aves::bulk

#endif  // AVES_SERVER_BULK_BULK_METRICS_H_
