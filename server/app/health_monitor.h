// HealthMonitor decides whether avesd may report SERVING: the pool must hold
// its DB_POOL_MIN connections (so the database is reachable) and the schema
// must be current (every built-in migration applied with its checksum
// unchanged). It re-checks on an interval from its own thread and
// reports changes through a callback, so it knows nothing of gRPC.
#ifndef AVES_SERVER_APP_HEALTH_MONITOR_H_
#define AVES_SERVER_APP_HEALTH_MONITOR_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>

#include "server/app/periodic_task.h"
#include "server/db/migration_file.h"

namespace aves::db {
class Database;
}  // namespace aves::db

namespace aves::app {

class HealthMonitor {
 public:
  // Called from the monitor's thread whenever serving changes (and once with
  // the first result). `reason` says why when not serving.
  using Listener = std::function<void(bool serving, const std::string& reason)>;

  HealthMonitor(db::Database& database,
                std::vector<db::MigrationFile> migrations,
                absl::Duration interval, Listener listener);
  ~HealthMonitor();  // stops the thread

  // Runs one check now, on the caller's thread, and starts the periodic thread.
  void Start();
  // Stops checking; idempotent.
  void Stop();

  bool serving() const;
  // Whether the last schema check found every built-in migration applied
  // unchanged (kept while the database is unreachable: unknown then).
  bool schema_current() const;

 private:
  // One check: returns the reason not to serve, or "" when all is well.
  std::string Check();
  void Publish(const std::string& reason);

  db::Database& database_;
  const std::vector<db::MigrationFile> migrations_;
  const absl::Duration interval_;
  const Listener listener_;

  mutable absl::Mutex mutex_;
  bool published_ ABSL_GUARDED_BY(mutex_) = false;
  bool serving_ ABSL_GUARDED_BY(mutex_) = false;
  bool schema_current_ ABSL_GUARDED_BY(mutex_) = false;
  std::string last_reason_ ABSL_GUARDED_BY(mutex_);
  PeriodicTask checks_;
};

}  // namespace aves::app

#endif  // AVES_SERVER_APP_HEALTH_MONITOR_H_
