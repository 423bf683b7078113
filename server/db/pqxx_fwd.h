// Forward declarations of the libpqxx types that db/ headers name. Headers
// that layers above the stores include (database.h, migrator.h, explain.h)
// use these instead of including libpqxx, so libpqxx stays an implementation
// detail of db/, store/ and bulk/ .cc files; the build refuses a libpqxx
// include in handlers/ and app/ (ARCHITECTURE.md, "Layers").
#ifndef AVES_SERVER_DB_PQXX_FWD_H_
#define AVES_SERVER_DB_PQXX_FWD_H_

namespace pqxx {
class connection_base;
class transaction_base;
}  // namespace pqxx

#endif  // AVES_SERVER_DB_PQXX_FWD_H_
