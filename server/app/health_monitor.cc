#include "server/app/health_monitor.h"

#include <utility>

#include <absl/strings/str_cat.h>

#include "server/db/database.h"
#include "server/db/migrator.h"
#include "server/observability/logging.h"

namespace aves::app {

HealthMonitor::HealthMonitor(db::Database& database,
                             std::vector<db::MigrationFile> migrations,
                             absl::Duration interval, Listener listener)
    : database_(database),
      migrations_(std::move(migrations)),
      interval_(interval),
      listener_(std::move(listener)),
      checks_(interval_, [this] { Publish(Check()); }) {}

HealthMonitor::~HealthMonitor() { Stop(); }

void HealthMonitor::Start() {
  Publish(Check());
  checks_.Start();
}

void HealthMonitor::Stop() { checks_.Stop(); }

bool HealthMonitor::serving() const {
  absl::MutexLock lock(&mutex_);
  return serving_;
}

bool HealthMonitor::schema_current() const {
  absl::MutexLock lock(&mutex_);
  return schema_current_;
}

std::string HealthMonitor::Check() {
  db::Pool& pool = database_.pool();
  if (!pool.Ready()) {
    const db::PoolStats stats = pool.Stats();
    if (!stats.database_reachable) {
      return absl::StrCat("database unreachable: ", stats.last_connect_error);
    }
    return absl::StrCat("opening connections (", stats.total,
                        " of DB_POOL_MIN=", stats.min, ")");
  }
  common::CallContext call;
  call.holder = "health check";
  call.deadline = absl::Now() + std::max(interval_, absl::Seconds(2));
  const absl::StatusOr<db::SchemaStatus> status =
      db::ReadSchemaStatus(database_, call, migrations_);
  if (!status.ok()) return std::string(status.status().message());
  {
    absl::MutexLock lock(&mutex_);
    schema_current_ = status->current() && status->first_mismatch() == nullptr;
  }
  if (const db::MigrationState* mismatch = status->first_mismatch()) {
    return absl::StrCat("migration ", mismatch->file.filename,
                        " changed after it was applied");
  }
  if (!status->current()) return "schema is not migrated (run: avesd migrate)";
  return "";
}

void HealthMonitor::Publish(const std::string& reason) {
  const bool serving = reason.empty();
  {
    absl::MutexLock lock(&mutex_);
    if (published_ && serving == serving_ && reason == last_reason_) return;
    published_ = true;
    serving_ = serving;
    last_reason_ = reason;
  }
  auto log = observability::Logger("health");
  if (serving) {
    log->info("database reachable and schema current: SERVING");
  } else {
    log->warn("NOT_SERVING: {}", reason);
  }
  listener_(serving, reason);
}

}  // namespace aves::app
