// Reading a small file a setting names (a secret, a key, a connection
// string): bounded, so a wrong path (/dev/zero, a log) cannot fill memory,
// and never echoing what it read.
#ifndef AVES_SERVER_COMMON_SETTING_FILE_H_
#define AVES_SERVER_COMMON_SETTING_FILE_H_

#include <cstddef>
#include <string>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>

namespace aves::common {

// The contents of `path`, named by `setting` in errors: INVALID_ARGUMENT
// "<setting>: cannot read <path>" or "... is longer than <max_bytes> bytes;
// it should hold <what>".
absl::StatusOr<std::string> ReadSettingFile(absl::string_view setting,
                                            const std::string& path,
                                            size_t max_bytes,
                                            absl::string_view what);

}  // namespace aves::common

#endif  // AVES_SERVER_COMMON_SETTING_FILE_H_
