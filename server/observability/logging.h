// Named per-component loggers (spdlog). Each component asks for its logger by
// name ("db", "migrate", "server"), so operators can tell where a line came
// from; spdlog checks the level before formatting, so disabled debug lines
// cost almost nothing on hot paths.
#ifndef AVES_SERVER_OBSERVABILITY_LOGGING_H_
#define AVES_SERVER_OBSERVABILITY_LOGGING_H_

#include <memory>
#include <string>

#include <absl/status/status.h>
#include <spdlog/spdlog.h>

namespace aves::observability {

// Sets the level of every logger, present and future. `level` is one of
// trace, debug, info, warn, error, critical, off.
absl::Status InitLogging(const std::string& level);

// Returns the logger for `component`, creating it on first use (thread-safe).
std::shared_ptr<spdlog::logger> Logger(const std::string& component);

}  // namespace aves::observability

#endif  // AVES_SERVER_OBSERVABILITY_LOGGING_H_
