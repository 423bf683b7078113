// Query statistics: pg_stat_statements as deltas over a window. avesd takes a
// snapshot of the database's entries every AVES_QUERY_STATS_INTERVAL_MS
// (Sample) and answers with the change from the newest snapshot at least one
// interval old (or the oldest it has) to now, so a window spans one to two
// intervals and needs no reset: it never calls pg_stat_statements_reset(),
// whose counters other tools read too. The service's statements are named by
// their "/* aves:NAME */" comment.
#ifndef AVES_SERVER_STORE_QUERY_STATS_H_
#define AVES_SERVER_STORE_QUERY_STATS_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/container/flat_hash_map.h>
#include <absl/status/statusor.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>

#include "server/common/call_context.h"

namespace aves::db {
class Database;
}  // namespace aves::db

namespace aves::store {

struct QueryStat {
  std::string name;  // ours from the comment, else empty
  std::string text;  // normalised, at most 1 KiB
  std::string query_id;
  int64_t calls = 0;
  absl::Duration total_time;
  int64_t rows = 0;
  int64_t blocks_hit = 0;
  int64_t blocks_read = 0;
};

struct QueryStatsWindow {
  absl::Time start;
  absl::Time end;
  std::vector<QueryStat> statements;  // in the order asked for
};

enum class QueryStatsOrder { kTotalTime, kMeanTime, kCalls };

class QueryStats {
 public:
  QueryStats(db::Database& database, absl::Duration interval);

  // Takes a snapshot (the background task's tick; also the first call of
  // Window when none exists yet).
  absl::Status Sample(const common::CallContext& context);

  // FAILED_PRECONDITION, with how to enable it, where pg_stat_statements is
  // not created in the database or not loaded.
  absl::StatusOr<QueryStatsWindow> Window(const common::CallContext& context,
                                          QueryStatsOrder order, int limit);

  // The name in a statement's leading "/* aves:NAME */", or empty.
  static std::string NameFromText(const std::string& text);

 private:
  struct Snapshot {
    absl::Time taken_at;
    absl::flat_hash_map<std::string, QueryStat> entries;  // by userid/queryid
  };
  absl::StatusOr<Snapshot> Read(const common::CallContext& context);

  db::Database& database_;
  const absl::Duration interval_;
  absl::Mutex mutex_;
  std::deque<Snapshot> snapshots_ ABSL_GUARDED_BY(mutex_);  // oldest first
};

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_QUERY_STATS_H_
