#include "server/common/json_writer.h"

#include <cstdio>

#include <absl/strings/str_cat.h>

namespace aves::common {

void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\0':
        // jsonb cannot store \u0000: the replacement character stands in.
        out->append("\\ufffd");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x",
                        static_cast<unsigned char>(c));
          out->append(escaped);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void JsonObject::Key(absl::string_view key) {
  members_.append(members_.empty() ? "{" : ", ");
  AppendJsonString(key, &members_);
  members_.append(": ");
}

JsonObject& JsonObject::Add(absl::string_view key, absl::string_view text) {
  Key(key);
  AppendJsonString(text, &members_);
  return *this;
}

JsonObject& JsonObject::Add(absl::string_view key, int64_t number) {
  Key(key);
  absl::StrAppend(&members_, number);
  return *this;
}

JsonObject& JsonObject::Add(absl::string_view key,
                            const std::vector<std::string>& texts) {
  Key(key);
  members_.push_back('[');
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i > 0) members_.append(", ");
    AppendJsonString(texts[i], &members_);
  }
  members_.push_back(']');
  return *this;
}

}  // namespace aves::common
