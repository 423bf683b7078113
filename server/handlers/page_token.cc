#include "server/handlers/page_token.h"

#include <vector>

#include <absl/strings/escaping.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
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

}  // namespace

std::string PageTokenCodec::Mac(absl::string_view payload) const {
  return common::HmacSha256(key_, payload).substr(0, kMacBytes);
}

std::string PageTokenCodec::Encode(absl::string_view list,
                                   absl::string_view filter,
                                   const store::KeysetCursor& cursor) const {
  const std::string payload = absl::StrCat(
      kVersion, "\n", list, "\n", common::Sha256Hex(filter).substr(0, 16), "\n",
      absl::ToUnixSeconds(clock_()), "\n", cursor.sort_key, "\n", cursor.id);
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
  if (parts.size() != 6 || parts[0] != kVersion ||
      !absl::SimpleAtoi(parts[3], &issued)) {
    return BadToken("unknown token version; start again without a token");
  }
  if (parts[1] != list || parts[2] != common::Sha256Hex(filter).substr(0, 16)) {
    return BadToken(
        "issued for another list or filter; start again without a token");
  }
  if (clock_() - absl::FromUnixSeconds(issued) > lifetime_) {
    return BadToken(absl::StrCat("expired (tokens last ",
                                 absl::FormatDuration(lifetime_),
                                 "); start again without a token"));
  }
  return store::KeysetCursor{parts[4], parts[5]};
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
