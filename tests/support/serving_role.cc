#include "tests/support/serving_role.h"

#include <exception>
#include <fstream>

#include <absl/strings/escaping.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "server/db/connection.h"

namespace aves::testing {
namespace {

std::string RandomHex() {
  std::ifstream random("/dev/urandom", std::ios::binary);
  char bytes[8];
  random.read(bytes, sizeof bytes);
  return absl::BytesToHexString(absl::string_view(bytes, sizeof bytes));
}

}  // namespace

ServingRole::ServingRole(const std::string& cluster_url)
    : cluster_url_(cluster_url),
      name_("aves_test_srv_" + RandomHex()),
      password_(RandomHex()) {
  pqxx::connection owner(cluster_url_);
  pqxx::nontransaction tx(owner);
  tx.exec("CREATE ROLE " + tx.quote_name(name_) + " LOGIN PASSWORD " +
          tx.quote(password_) + " IN ROLE aves_data_service");
}

ServingRole::~ServingRole() {
  try {
    pqxx::connection owner(cluster_url_);
    pqxx::nontransaction(owner).exec("DROP ROLE IF EXISTS \"" + name_ + "\"");
  } catch (const std::exception& error) {
    ADD_FAILURE() << "dropping " << name_ << ": " << error.what();
  }
}

std::string ServingRole::UrlFor(const std::string& conninfo) const {
  return db::WithConnectionParameter(
      db::WithConnectionParameter(conninfo, "user", name_), "password",
      password_);
}

}  // namespace aves::testing
