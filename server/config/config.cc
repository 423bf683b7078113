#include "server/config/config.h"

#include <cstdlib>
#include <utility>

#include <absl/status/status.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>

#include "server/common/status_macros.h"

namespace aves::config {
namespace {

absl::StatusOr<int64_t> ReadInt(const SettingLookup& lookup,
                                const std::string& name, int64_t default_value,
                                int64_t min, int64_t max) {
  const std::optional<std::string> raw = lookup(name);
  if (!raw.has_value() || raw->empty()) return default_value;
  int64_t value = 0;
  if (!absl::SimpleAtoi(*raw, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": '", *raw, "' is not a whole number"));
  }
  if (value < min || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", value, " is outside [", min, ", ", max, "]"));
  }
  return value;
}

absl::StatusOr<absl::Duration> ReadMillis(const SettingLookup& lookup,
                                          const std::string& name,
                                          absl::Duration default_value,
                                          int64_t min_ms, int64_t max_ms) {
  ASSIGN_OR_RETURN(int64_t ms, ReadInt(lookup, name,
                                       absl::ToInt64Milliseconds(default_value),
                                       min_ms, max_ms));
  return absl::Milliseconds(ms);
}

std::string ReadString(const SettingLookup& lookup, const std::string& name,
                       std::string default_value) {
  std::optional<std::string> raw = lookup(name);
  return raw.has_value() && !raw->empty() ? *std::move(raw)
                                          : std::move(default_value);
}

}  // namespace

SettingLookup EnvironmentLookup() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

SettingLookup OverlayLookup(std::map<std::string, std::string> overrides,
                            SettingLookup fallback) {
  return [overrides = std::move(overrides), fallback = std::move(fallback)](
             const std::string& name) -> std::optional<std::string> {
    if (auto it = overrides.find(name); it != overrides.end())
      return it->second;
    return fallback(name);
  };
}

absl::StatusOr<Config> LoadConfig(const SettingLookup& lookup) {
  Config config;
  config.database_url = ReadString(lookup, "DATABASE_URL", "");
  config.listen_address =
      ReadString(lookup, "AVES_LISTEN", config.listen_address);
  if (config.listen_address.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AVES_LISTEN: '", config.listen_address, "' is not host:port"));
  }
  config.log_level = ReadString(lookup, "AVES_LOG_LEVEL", config.log_level);
  ASSIGN_OR_RETURN(config.health_interval,
                   ReadMillis(lookup, "AVES_HEALTH_INTERVAL_MS",
                              config.health_interval, 50, 60'000));
  ASSIGN_OR_RETURN(config.shutdown_grace,
                   ReadMillis(lookup, "AVES_SHUTDOWN_GRACE_MS",
                              config.shutdown_grace, 0, 600'000));
  return config;
}

}  // namespace aves::config
