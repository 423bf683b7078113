#include "server/app/health_monitor.h"

#include <utility>

#include <absl/strings/str_cat.h>

#include "server/db/connection.h"
#include "server/db/migrator.h"
#include "server/observability/logging.h"

namespace aves::app {

HealthMonitor::HealthMonitor(std::string conninfo,
                             std::vector<db::MigrationFile> migrations,
                             absl::Duration interval, Listener listener)
    : conninfo_(std::move(conninfo)),
      migrations_(std::move(migrations)),
      interval_(interval),
      listener_(std::move(listener)) {}

HealthMonitor::~HealthMonitor() { Stop(); }

void HealthMonitor::Start() {
  Publish(Check());
  thread_ = std::thread([this] { Run(); });
}

void HealthMonitor::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool HealthMonitor::serving() const {
  absl::MutexLock lock(&mutex_);
  return serving_;
}

std::string HealthMonitor::Check() {
  if (connection_ == nullptr || !connection_->is_open()) {
    auto connection = db::Connect(conninfo_, db::kServerApplicationName);
    if (!connection.ok()) return std::string(connection.status().message());
    connection_ = *std::move(connection);
  }
  absl::StatusOr<db::SchemaStatus> status =
      db::ReadSchemaStatus(*connection_, migrations_);
  if (!status.ok()) {
    connection_.reset();  // a failed connection is never reused
    return std::string(status.status().message());
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

void HealthMonitor::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      if (mutex_.AwaitWithTimeout(absl::Condition(&stopping_), interval_))
        return;
    }
    Publish(Check());
  }
}

}  // namespace aves::app
