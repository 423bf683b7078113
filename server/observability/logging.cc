#include "server/observability/logging.h"

#include <unistd.h>

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

#include "server/observability/buffered_log_sink.h"

namespace aves::observability {
namespace {

// How long a buffered info line may wait before it is written.
constexpr absl::Duration kBufferedLogDelay = absl::Milliseconds(200);

std::mutex& LoggerMutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}

// One sink for every logger, so lines keep their order. Logs go to stderr:
// stdout belongs to command output (`avesd migrate --status`). A terminal
// gets colours and every line at once; anything else (a file, a pipe to
// journald or a container runtime) gets buffered writes, since at thousands
// of RPCs a second the access log's write(2) per line is a measurable share
// of each lookup (ARCHITECTURE.md).
std::shared_ptr<spdlog::sinks::sink> StderrSink() {
  // Not leaked: its destructor at exit writes the last buffered lines.
  static const std::shared_ptr<spdlog::sinks::sink> sink =
      ::isatty(STDERR_FILENO)
          ? std::shared_ptr<spdlog::sinks::sink>(
                std::make_shared<spdlog::sinks::stderr_color_sink_mt>())
          : std::make_shared<BufferedLogSink>(STDERR_FILENO, kBufferedLogDelay);
  return sink;
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
  auto logger = std::make_shared<spdlog::logger>(component, StderrSink());
  spdlog::initialize_logger(logger);  // registers it; level and pattern
  return logger;
}

}  // namespace aves::observability
