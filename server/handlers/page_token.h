// Keyset page tokens: opaque to clients, integrity-checked (HMAC-SHA256), and
// bound to the list and filter they were issued for, so a tampered token or
// one from another list or filter is INVALID_ARGUMENT rather than a silent
// wrong page. A token carries the last row's sort key and id as the database
// printed them, so they go back as query parameters unchanged.
#ifndef AVES_SERVER_HANDLERS_PAGE_TOKEN_H_
#define AVES_SERVER_HANDLERS_PAGE_TOKEN_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>
#include <absl/time/clock.h>
#include <absl/time/time.h>

#include "server/store/keyset.h"

namespace aves::handlers {

class PageTokenCodec {
 public:
  // `key` signs tokens; replicas that share lists must share it. A token
  // is refused once `lifetime` has passed since it was issued (by `clock`),
  // so a leaked one does not page a list forever.
  explicit PageTokenCodec(std::string key,
                          absl::Duration lifetime = absl::Hours(24),
                          std::function<absl::Time()> clock = absl::Now)
      : key_(std::move(key)), lifetime_(lifetime), clock_(std::move(clock)) {}

  std::string Encode(absl::string_view list, absl::string_view filter,
                     const store::KeysetCursor& cursor) const;
  // INVALID_ARGUMENT naming page_token when the token is garbled, tampered
  // with, expired, or issued for another list or filter.
  absl::StatusOr<store::KeysetCursor> Decode(absl::string_view token,
                                             absl::string_view list,
                                             absl::string_view filter) const;

 private:
  std::string Mac(absl::string_view payload) const;
  std::string key_;
  absl::Duration lifetime_;
  std::function<absl::Time()> clock_;
};

// page_size: 0 means the default (50); at most 1000.
absl::StatusOr<int> PageSize(int32_t requested);

// Where a request's page starts and how long it is.
struct PageRequest {
  int size = 50;
  std::optional<store::KeysetCursor> after;  // nullopt: the first page
};

// One keyset-paged list: the codec bound to the list's name and its filter,
// so a token is good for this list and filter only.
class PagedList {
 public:
  PagedList(const PageTokenCodec& tokens, absl::string_view list,
            std::string filter)
      : tokens_(tokens), list_(list), filter_(std::move(filter)) {}

  // The page a request's page_size and page_token ask for.
  absl::StatusOr<PageRequest> Read(int32_t page_size,
                                   absl::string_view page_token) const;
  // The next page's token: after `last` (the store page's) when more rows
  // follow; "" otherwise.
  std::string NextToken(bool more, const store::KeysetCursor& last) const {
    return more ? tokens_.Encode(list_, filter_, last) : std::string();
  }

 private:
  const PageTokenCodec& tokens_;
  const absl::string_view list_;
  const std::string filter_;
};

}  // namespace aves::handlers

#endif  // AVES_SERVER_HANDLERS_PAGE_TOKEN_H_
