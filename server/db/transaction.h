// Transaction: an open transaction that a store function joins, so that one
// module's writes and another's commit together (a bulk batch's rows and its
// job's counters, in one transaction). Store headers declare it forward, so
// they stay free of libpqxx; only .cc files see what it wraps.
#ifndef AVES_SERVER_DB_TRANSACTION_H_
#define AVES_SERVER_DB_TRANSACTION_H_

#include <pqxx/transaction_base>

namespace aves::db {

class QueryMetrics;

class Transaction {
 public:
  // `metrics`: where the stores joining it record their statements (null:
  // nowhere).
  explicit Transaction(pqxx::transaction_base& tx,
                       QueryMetrics* metrics = nullptr)
      : tx_(tx), metrics_(metrics) {}
  pqxx::transaction_base& get() const { return tx_; }
  QueryMetrics* metrics() const { return metrics_; }

 private:
  pqxx::transaction_base& tx_;
  QueryMetrics* metrics_;
};

}  // namespace aves::db

#endif  // AVES_SERVER_DB_TRANSACTION_H_
