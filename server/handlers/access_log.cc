#include "server/handlers/access_log.h"

#include <string>

#include <absl/status/status.h>
#include <fmt/format.h>

#include "server/observability/logging.h"

namespace aves::handlers {
namespace {

// Looked up once: Logger() takes two locks, and this runs once per RPC.
spdlog::logger& AccessLogger() {
  static const std::shared_ptr<spdlog::logger> logger =
      observability::Logger("access");
  return *logger;
}

}  // namespace

AccessLog::~AccessLog() {
  const absl::Duration elapsed = absl::Now() - start_;
  const bool slow = elapsed >= slow_;
  spdlog::logger& log = AccessLogger();
  const auto level = slow ? spdlog::level::warn : spdlog::level::info;
  if (!log.should_log(level)) return;
  std::string statements;
  if (statements_ >= 0) {
    statements = fmt::format(" statements={} db_ms={:.3f}", statements_,
                             absl::ToDoubleMilliseconds(db_time_));
  }
  log.log(level, "method={}{}{} code={} ms={:.3f} rows={}{}{}{}{}", method_,
          caller_ ? " caller=" : "", caller_ ? caller_->subject : "",
          absl::StatusCodeToString(
              static_cast<absl::StatusCode>(status_.error_code())),
          absl::ToDoubleMilliseconds(elapsed), rows_, statements,
          slow ? " slow=true" : "",
          status_.ok() ? "" : " error=", status_.error_message());
}

}  // namespace aves::handlers
