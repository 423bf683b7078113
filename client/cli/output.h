// How avesctl prints: errors ("error: CODE: message", exit 2), responses as
// JSON (--json) or as aligned tables, times and enum values as people read
// them.
#ifndef AVES_CLIENT_CLI_OUTPUT_H_
#define AVES_CLIENT_CLI_OUTPUT_H_

#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/strings/ascii.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

namespace aves::cli {

// Prints "error: CODE: message"; returns the exit code for a failed call.
int PrintError(const absl::Status& status);

// The message as indented JSON with every field (for scripts).
void PrintJson(const google::protobuf::Message& message);
// The message as one line of JSON (streams).
void PrintJsonLine(const google::protobuf::Message& message);

// Rows as aligned columns on stdout; the first row is the header.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// "next page: --page-token=..." when `token` is not empty.
void PrintNextPage(const std::string& token);

// Milliseconds with three decimals.
std::string Millis(const google::protobuf::Duration& duration);
// "2026-11-27 10:00:00" (UTC), or "-" for an unset time.
std::string TimeText(const google::protobuf::Timestamp& time);

// Lower-case name of an enum value without its prefix ("JOB_STATUS_PENDING"
// with prefix length 11 -> "pending").
std::string EnumText(const std::string& full_name, size_t prefix_length);

// "pending" -> the value of the enum whose value names start with `prefix`
// (JOB_STATUS_PENDING); false for an unknown or UNSPECIFIED name.
template <typename Enum, typename Parse>
bool ParseEnumOption(const std::string& text, const char* prefix, Parse parse,
                     Enum* out) {
  return parse(prefix + absl::AsciiStrToUpper(text), out) &&
         static_cast<int>(*out) != 0;
}

}  // namespace aves::cli

#endif  // AVES_CLIENT_CLI_OUTPUT_H_
