// JsonObject: a JSON object written from C++ values (RFC 8259 string
// escaping), for the few documents the service writes itself, such as a bulk
// load's job metadata. Values are never spliced into SQL: the text goes to
// PostgreSQL as a parameter.
#ifndef AVES_SERVER_COMMON_JSON_WRITER_H_
#define AVES_SERVER_COMMON_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include <absl/strings/string_view.h>

namespace aves::common {

// Appends `text` as a JSON string (quoted, with ", \ and control characters
// escaped; NUL, which jsonb cannot store, becomes U+FFFD).
void AppendJsonString(absl::string_view text, std::string* out);

class JsonObject {
 public:
  JsonObject& Add(absl::string_view key, absl::string_view text);
  JsonObject& Add(absl::string_view key, const char* text) {
    return Add(key, absl::string_view(text));
  }
  JsonObject& Add(absl::string_view key, int64_t number);
  JsonObject& Add(absl::string_view key, const std::vector<std::string>& texts);

  // The object's text, "{...}".
  std::string Text() const { return members_.empty() ? "{}" : members_ + "}"; }

 private:
  void Key(absl::string_view key);
  std::string members_;  // "{" and the members so far
};

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_JSON_WRITER_H_
