// Telling a caller why the database cannot be reached without telling it
// where it is. Free of libpqxx: the pool (aves_db_pool) uses it.
#ifndef AVES_SERVER_DB_CONNECT_FAILURE_H_
#define AVES_SERVER_DB_CONNECT_FAILURE_H_

#include <string>

#include <absl/strings/string_view.h>

namespace aves::db {

// What a caller may be told of a failed connection attempt: a short class
// ("connection refused", "authentication failed", ...) without libpq's text,
// which names the host, address, user and database. The log keeps the text.
std::string ConnectFailureReason(absl::string_view libpq_message);

}  // namespace aves::db

#endif  // AVES_SERVER_DB_CONNECT_FAILURE_H_
