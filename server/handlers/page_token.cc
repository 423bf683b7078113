#include "server/handlers/page_token.h"

#include <vector>

#include <absl/strings/escaping.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_replace.h>
#include <absl/strings/str_split.h>

#include "server/common/crypto.h"
#include "server/common/field_error.h"
#include "server/common/status_macros.h"

namespace aves::handlers {
namespace {

constexpr size_t kMacBytes = 16;
// p2 added the time of issue; p1 tokens (no expiry) are refused.
constexpr char kVersion[] = "p2";

absl::Status BadToken(absl::string_view why) {
  return common::InvalidField("page_token", why);
}

// The payload's fields are joined by newlines, so a field's own newlines
// (and backslashes) are escaped. Tokens from before escaping decode the
// same: their fields (timestamps, numbers, ids) held neither.
std::string EscapeField(absl::string_view field) {
  return absl::StrReplaceAll(field, {{"\\", "\\\\"}, {"\n", "\\n"}});
}

// False on an escape EscapeField does not write.
bool UnescapeField(absl::string_view field, std::string* out) {
  out->clear();
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\') {
      out->push_back(field[i]);
    } else if (i + 1 < field.size() && field[i + 1] == '\\') {
      out->push_back('\\');
      ++i;
    } else if (i + 1 < field.size() && field[i + 1] == 'n') {
      out->push_back('\n');
      ++i;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string PageTokenCodec::Mac(absl::string_view payload) const {
  return common::HmacSha256(key_, payload).substr(0, kMacBytes);
}

std::string PageTokenCodec::Encode(absl::string_view list,
                                   absl::string_view filter,
                                   const store::KeysetCursor& cursor) const {
  const std::string payload =
      absl::StrCat(kVersion, "\n", EscapeField(list), "\n",
                   common::Sha256Hex(filter).substr(0, 16), "\n",
                   absl::ToUnixSeconds(clock_()), "\n",
                   EscapeField(cursor.sort_key), "\n", EscapeField(cursor.id));
  std::string token;
  absl::WebSafeBase64Escape(payload + Mac(payload), &token);
  return token;
}

absl::StatusOr<store::KeysetCursor> PageTokenCodec::Decode(
    absl::string_view token, absl::string_view list,
    absl::string_view filter) const {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() <= kMacBytes) {
    return BadToken("not a page token of this service");
  }
  const std::string payload = raw.substr(0, raw.size() - kMacBytes);
  const std::string mac = Mac(payload);
  if (!common::ConstantTimeEquals(
          mac, absl::string_view(raw).substr(payload.size()))) {
    return BadToken("corrupted or not issued by this service");
  }
  std::vector<std::string> parts = absl::StrSplit(payload, '\n');
  int64_t issued = 0;
  std::string token_list;
  store::KeysetCursor cursor;
  if (parts.size() != 6 || parts[0] != kVersion ||
      !absl::SimpleAtoi(parts[3], &issued) ||
      !UnescapeField(parts[1], &token_list) ||
      !UnescapeField(parts[4], &cursor.sort_key) ||
      !UnescapeField(parts[5], &cursor.id)) {
    return BadToken("unknown token version; start again without a token");
  }
  if (token_list != list ||
      parts[2] != common::Sha256Hex(filter).substr(0, 16)) {
    return BadToken(
        "issued for another list or filter; start again without a token");
  }
  if (clock_() - absl::FromUnixSeconds(issued) > lifetime_) {
    return BadToken(absl::StrCat("expired (tokens last ",
                                 absl::FormatDuration(lifetime_),
                                 "); start again without a token"));
  }
  return cursor;
}

absl::StatusOr<int> PageSize(int32_t requested) {
  if (requested == 0) return 50;
  if (requested < 0 || requested > 1000) {
    return common::InvalidField(
        "page_size", absl::StrCat(requested, " is outside [1, 1000]"));
  }
  return requested;
}

absl::StatusOr<PageRequest> PagedList::Read(
    int32_t page_size, absl::string_view page_token) const {
  PageRequest page;
  ASSIGN_OR_RETURN(page.size, PageSize(page_size));
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(page.after, tokens_.Decode(page_token, list_, filter_));
  }
  return page;
}

}  // namespace aves::handlers
