#include "client/cli/output.h"

#include <cstdio>
#include <iostream>

#include <absl/time/time.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "client/lib/table.h"

namespace aves::cli {

int PrintError(const absl::Status& status) {
  std::cerr << "error: " << absl::StatusCodeToString(status.code()) << ": "
            << status.message() << "\n";
  return 2;
}

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::cout << json;
}

void PrintJsonLine(const google::protobuf::Message& message) {
  std::string line;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &line, options);
  std::cout << line << std::endl;
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  client::PrintTable(std::cout, rows);
}

void PrintNextPage(const std::string& token) {
  if (!token.empty())
    std::cout << "\nnext page: --page-token=" << token << "\n";
}

std::string Millis(const google::protobuf::Duration& duration) {
  const double ms =
      static_cast<double>(
          google::protobuf::util::TimeUtil::DurationToMicroseconds(duration)) /
      1000.0;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", ms);
  return buffer;
}

std::string TimeText(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S",
                          absl::FromUnixSeconds(time.seconds()),
                          absl::UTCTimeZone());
}

std::string EnumText(const std::string& full_name, size_t prefix_length) {
  return full_name.size() > prefix_length
             ? absl::AsciiStrToLower(full_name.substr(prefix_length))
             : "?";
}

}  // namespace aves::cli
