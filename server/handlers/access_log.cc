#include "server/handlers/access_log.h"

#include <absl/status/status.h>

#include "server/observability/logging.h"

namespace aves::handlers {

AccessLog::~AccessLog() {
  const absl::Duration elapsed = absl::Now() - start_;
  const std::string code = absl::StatusCodeToString(
      static_cast<absl::StatusCode>(status_.error_code()));
  const double ms = absl::ToDoubleMilliseconds(elapsed);
  auto log = observability::Logger("access");
  if (elapsed >= slow_) {
    log->warn("method={} code={} ms={:.3f} rows={} slow=true{}{}", method_,
              code, ms, rows_,
              status_.ok() ? "" : " error=", status_.error_message());
  } else {
    log->info("method={} code={} ms={:.3f} rows={}{}{}", method_, code, ms,
              rows_, status_.ok() ? "" : " error=", status_.error_message());
  }
}

}  // namespace aves::handlers
