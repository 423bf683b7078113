// Keyset paging, as every list of the stores does it: a page starts after
// the row with this (sort key, id), both as PostgreSQL printed them, so they
// go back into the next page's query as parameters unchanged (never OFFSET).
#ifndef AVES_SERVER_STORE_KEYSET_H_
#define AVES_SERVER_STORE_KEYSET_H_

#include <string>

namespace aves::store {

struct KeysetCursor {
  std::string sort_key;  // e.g. created_at or confidence, as text
  std::string id;
};

// Every page of a list says where the next one starts: after the last row
// it read, also when that row was left out (timestamps.h), so paging always
// moves on.

}  // namespace aves::store

#endif  // AVES_SERVER_STORE_KEYSET_H_
