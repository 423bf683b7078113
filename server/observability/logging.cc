#include "server/observability/logging.h"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace aves::observability {
namespace {
std::mutex& LoggerMutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}
}  // namespace

absl::Status InitLogging(const std::string& level) {
  const spdlog::level::level_enum parsed = spdlog::level::from_str(level);
  // from_str maps unknown names to "off"; only "off" itself may mean off.
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(
        "AVES_LOG_LEVEL: unknown level '" + level +
        "' (trace, debug, info, warn, error, critical, off)");
  }
  spdlog::set_level(parsed);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %v");
  return absl::OkStatus();
}

std::shared_ptr<spdlog::logger> Logger(const std::string& component) {
  std::lock_guard<std::mutex> lock(LoggerMutex());
  if (auto existing = spdlog::get(component)) return existing;
  // Logs go to stderr: stdout belongs to command output (`avesd migrate
  // --status`).
  auto logger = spdlog::stderr_color_mt(component);
  logger->set_level(spdlog::get_level());
  return logger;
}

}  // namespace aves::observability
