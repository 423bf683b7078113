// Transaction: an open transaction that a store function joins, so that one
// module's writes and another's commit together (a bulk batch's rows and its
// job's counters, in one transaction). Store headers declare it forward, so
// they stay free of libpqxx; only .cc files see what it wraps.
#ifndef AVES_SERVER_DB_TRANSACTION_H_
#define AVES_SERVER_DB_TRANSACTION_H_

#include <pqxx/transaction_base>

namespace aves::db {

class Transaction {
 public:
  explicit Transaction(pqxx::transaction_base& tx) : tx_(tx) {}
  pqxx::transaction_base& get() const { return tx_; }

 private:
  pqxx::transaction_base& tx_;
};

}  // namespace aves::db

#endif  // AVES_SERVER_DB_TRANSACTION_H_
