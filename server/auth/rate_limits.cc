#include "server/auth/rate_limits.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include <absl/strings/ascii.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_format.h>
#include <absl/strings/str_split.h>

#include "server/auth/policy.h"

namespace aves::auth {
namespace {

// Bounds a rule may name: beyond them a typo, not a rate.
constexpr int kMaxCount = 1'000'000;

// "aves.data.v1.AdminService/VerifyIndexes" -> "AdminService.VerifyIndexes".
std::string ShortName(absl::string_view method) {
  const size_t slash = method.find('/');
  absl::string_view service = method.substr(0, slash);
  const size_t dot = service.rfind('.');
  if (dot != absl::string_view::npos) service = service.substr(dot + 1);
  return absl::StrCat(service, ".", method.substr(slash + 1));
}

bool IsKnownMethod(absl::string_view name) {
  for (const MethodRule& rule : PolicyTable()) {
    if (ShortName(rule.method) == name) return true;
  }
  return false;
}

absl::Status BadRule(absl::string_view rule, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("AVES_RATE_LIMITS rule '", rule, "': ", problem,
                   " (want Service.Method=COUNT/UNIT[:BURST] with UNIT s, "
                   "min or h, or Service.Method=unlimited)"));
}

absl::StatusOr<int> ParseCount(absl::string_view text, absl::string_view rule,
                               absl::string_view what) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 1 || value > kMaxCount) {
    return BadRule(rule, absl::StrCat(what,
                                      " must be a whole number from 1 "
                                      "to ",
                                      kMaxCount));
  }
  return value;
}

absl::StatusOr<RateLimit> ParseLimit(absl::string_view value,
                                     absl::string_view rule) {
  std::pair<absl::string_view, absl::string_view> rate_and_burst =
      absl::StrSplit(value, absl::MaxSplits(':', 1));
  std::vector<absl::string_view> count_and_unit =
      absl::StrSplit(rate_and_burst.first, '/');
  if (count_and_unit.size() != 2) return BadRule(rule, "no COUNT/UNIT");
  RateLimit limit;
  absl::StatusOr<int> count = ParseCount(count_and_unit[0], rule, "COUNT");
  if (!count.ok()) return count.status();
  limit.count = *count;
  const absl::string_view unit = count_and_unit[1];
  if (unit == "s") {
    limit.per = absl::Seconds(1);
  } else if (unit == "min") {
    limit.per = absl::Minutes(1);
  } else if (unit == "h") {
    limit.per = absl::Hours(1);
  } else {
    return BadRule(rule, absl::StrCat("unknown UNIT '", unit, "'"));
  }
  limit.burst = limit.count;
  if (value.find(':') != absl::string_view::npos) {
    absl::StatusOr<int> burst =
        ParseCount(rate_and_burst.second, rule, "BURST");
    if (!burst.ok()) return burst.status();
    limit.burst = *burst;
  }
  return limit;
}

}  // namespace

std::string RateLimit::ToString() const {
  const char* unit = per == absl::Seconds(1)   ? "s"
                     : per == absl::Minutes(1) ? "min"
                                               : "h";
  std::string text = absl::StrCat(count, "/", unit);
  if (burst != count) absl::StrAppend(&text, ":", burst);
  return text;
}

RateLimitTable DefaultRateLimits() {
  return {
      {"ExerciseCacheService.PurgeExpired", {6, absl::Minutes(1), 6}},
      {"AdminService.RunAnalyze", {6, absl::Minutes(1), 6}},
      {"AdminService.ReindexIndex", {6, absl::Minutes(1), 6}},
      {"AdminService.VerifyIndexes", {6, absl::Minutes(1), 6}},
  };
}

absl::StatusOr<RateLimitTable> ParseRateLimits(absl::string_view setting) {
  RateLimitTable limits = DefaultRateLimits();
  std::set<std::string> named;
  for (absl::string_view rule : absl::StrSplit(setting, ',')) {
    rule = absl::StripAsciiWhitespace(rule);
    if (rule.empty()) continue;
    const size_t equals = rule.find('=');
    if (equals == absl::string_view::npos) return BadRule(rule, "no '='");
    const std::string method(
        absl::StripAsciiWhitespace(rule.substr(0, equals)));
    const absl::string_view value =
        absl::StripAsciiWhitespace(rule.substr(equals + 1));
    if (!IsKnownMethod(method)) {
      return BadRule(rule, absl::StrCat("no RPC '", method,
                                        "' (`avesd policy` lists them)"));
    }
    if (!named.insert(method).second) {
      return BadRule(rule, absl::StrCat("'", method, "' is named twice"));
    }
    if (value == "unlimited") {
      limits.erase(method);
      continue;
    }
    absl::StatusOr<RateLimit> limit = ParseLimit(value, rule);
    if (!limit.ok()) return limit.status();
    limits[method] = *limit;
  }
  return limits;
}

std::string FormatRateLimits(const RateLimitTable& limits) {
  std::string text;
  if (limits.empty()) return "every RPC unlimited\n";
  for (const auto& [method, limit] : limits) {
    absl::StrAppendFormat(&text, "%-45s %s per caller\n", method,
                          limit.ToString());
  }
  absl::StrAppend(&text, "every other RPC unlimited\n");
  return text;
}

RateLimiter::RateLimiter(RateLimit limit, size_t max_callers)
    : limit_(limit),
      tokens_per_second_(limit.TokensPerSecond()),
      max_callers_(max_callers) {}

void RateLimiter::Refill(Bucket& bucket, absl::Time now) const {
  if (now <= bucket.updated) return;
  bucket.tokens = std::min<double>(
      limit_.burst,
      bucket.tokens +
          absl::ToDoubleSeconds(now - bucket.updated) * tokens_per_second_);
  bucket.updated = now;
}

std::optional<absl::Duration> RateLimiter::TryAcquire(absl::string_view caller,
                                                      absl::Time now) {
  absl::MutexLock lock(&mutex_);
  auto found = buckets_.find(caller);
  if (found == buckets_.end()) {
    if (buckets_.size() >= max_callers_) {
      absl::erase_if(buckets_, [&](auto& entry) {
        Refill(entry.second, now);
        return entry.second.tokens >= limit_.burst;
      });
    }
    if (buckets_.size() >= max_callers_) {
      return absl::Seconds(1 / tokens_per_second_);
    }
    found = buckets_.emplace(caller, Bucket{double(limit_.burst), now}).first;
  }
  Bucket& bucket = found->second;
  Refill(bucket, now);
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return std::nullopt;
  }
  return absl::Seconds((1 - bucket.tokens) / tokens_per_second_);
}

size_t RateLimiter::tracked_callers() const {
  absl::MutexLock lock(&mutex_);
  return buckets_.size();
}

}  // namespace aves::auth
