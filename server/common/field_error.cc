#include "server/common/field_error.h"

#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>

namespace aves::common {

std::vector<std::pair<std::string, std::string>> FieldViolationsOf(
    const absl::Status& status) {
  std::vector<std::pair<std::string, std::string>> violations;
  absl::optional<absl::Cord> payload = status.GetPayload(kFieldPayload);
  if (!payload.has_value()) return violations;
  for (absl::string_view line :
       absl::StrSplit(std::string(*payload), '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> violation =
        absl::StrSplit(line, absl::MaxSplits('\t', 1));
    violations.push_back(std::move(violation));
  }
  return violations;
}

void FieldChecks::Add(const absl::Status& status) {
  if (status.ok()) return;
  if (status.code() == absl::StatusCode::kInvalidArgument &&
      status.GetPayload(kFieldPayload).has_value()) {
    violations_.push_back(status);
  } else if (other_.ok()) {
    other_ = status;
  }
}

absl::Status FieldChecks::status() const {
  if (!other_.ok()) return other_;
  if (violations_.empty()) return absl::OkStatus();
  if (violations_.size() == 1) return violations_.front();
  std::vector<absl::string_view> messages;
  std::string lines;
  for (const absl::Status& violation : violations_) {
    messages.push_back(violation.message());
    lines += std::string(*violation.GetPayload(kFieldPayload));
  }
  absl::Status merged =
      absl::InvalidArgumentError(absl::StrJoin(messages, "; "));
  merged.SetPayload(kFieldPayload, absl::Cord(lines));
  return merged;
}

}  // namespace aves::common
