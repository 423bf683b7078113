// avesbench bulk: loading rows row by row, in multi-row INSERTs of 100 (the
// seed's batchInsert), with `psql \copy` from a CSV file, and streamed
// through avesd's BulkInsertService (insert, upsert, returning) — same rows,
// same table, same run — as rows/s and ratios. Data sets: user_progress at
// --rows and --large-rows, ai_annotation_items (10 columns, jsonb) at
// --annotation-rows; then one --rss-rows load through avesd with its resident
// memory sampled throughout.
#ifndef AVES_BENCH_BULK_BENCH_H_
#define AVES_BENCH_BULK_BENCH_H_

#include <cstdint>

#include <absl/status/status.h>

namespace aves::bench {

struct BulkBenchOptions {
  int64_t rows = 100'000;             // user_progress, every method
  int64_t large_rows = 1'000'000;     // user_progress again; 0: skip
  int64_t annotation_rows = 100'000;  // ai_annotation_items; 0: skip
  int64_t rss_rows = 10'000'000;      // the memory load; 0: skip
  int64_t row_by_row_rows = 10'000;   // row by row is slow: a sample
  int runs = 3;                       // medians of this many
  int batch_rows = 0;                 // avesd batch size; 0: its default
  bool json = false;
};

absl::Status RunBulkBench(const BulkBenchOptions& options);

}  // namespace aves::bench

#endif  // AVES_BENCH_BULK_BENCH_H_
