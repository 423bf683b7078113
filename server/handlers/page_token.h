// Keyset page tokens: opaque to clients, integrity-checked (HMAC-SHA256), and
// bound to the list and filter they were issued for, so a tampered token or
// one from another list or filter is INVALID_ARGUMENT rather than a silent
// wrong page. A token carries the last row's sort key and id as the database
// printed them, so they go back as query parameters unchanged.
#ifndef AVES_SERVER_HANDLERS_PAGE_TOKEN_H_
#define AVES_SERVER_HANDLERS_PAGE_TOKEN_H_

#include <cstdint>
#include <string>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>

namespace aves::handlers {

struct PageCursor {
  std::string sort_key;  // e.g. created_at as text
  std::string id;
};

class PageTokenCodec {
 public:
  // `key` signs tokens; replicas that share lists must share it.
  explicit PageTokenCodec(std::string key) : key_(std::move(key)) {}

  std::string Encode(absl::string_view list, absl::string_view filter,
                     const PageCursor& cursor) const;
  // INVALID_ARGUMENT naming page_token when the token is garbled, tampered
  // with, or issued for another list or filter.
  absl::StatusOr<PageCursor> Decode(absl::string_view token,
                                    absl::string_view list,
                                    absl::string_view filter) const;

 private:
  std::string Mac(absl::string_view payload) const;
  std::string key_;
};

// page_size: 0 means the default (50); at most 1000.
absl::StatusOr<int> PageSize(int32_t requested);

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_PAGE_TOKEN_H_
