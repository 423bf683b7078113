// PreparedStatement: a named statement every pooled connection prepares once
// when it opens (userver's "named query"); stores list theirs, the server
// hands them all to the pool.
#ifndef AVES_SERVER_DB_PREPARED_STATEMENT_H_
#define AVES_SERVER_DB_PREPARED_STATEMENT_H_

#include <string>

namespace aves::db {

struct PreparedStatement {
  std::string name;
  std::string sql;
};

}  // namespace aves::db

#endif  // AVES_SERVER_DB_PREPARED_STATEMENT_H_
