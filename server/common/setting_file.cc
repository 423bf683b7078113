#include "server/common/setting_file.h"

#include <fstream>

#include <absl/strings/str_cat.h>

namespace aves::common {

absl::StatusOr<std::string> ReadSettingFile(absl::string_view setting,
                                            const std::string& path,
                                            size_t max_bytes,
                                            absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, ": cannot read ", path));
  }
  // One byte past the limit tells a long file from one that fits.
  std::string contents(max_bytes + 1, '\0');
  in.read(contents.data(), static_cast<std::streamsize>(contents.size()));
  contents.resize(static_cast<size_t>(in.gcount()));
  if (contents.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, ": ", path, " is longer than ", max_bytes,
                     " bytes; it should hold ", what));
  }
  return contents;
}

}  // namespace aves::common
