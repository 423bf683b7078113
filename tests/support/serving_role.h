// A login role of a test's own, a member of the serving group
// aves_data_service and nothing else (as scripts/pg makes aves_app), for
// tests of what avesd may do when it serves with least privilege. Dropped
// at the end, so declare it before the databases it may own tables in
// (they go first).
#ifndef AVES_TESTS_SUPPORT_SERVING_ROLE_H_
#define AVES_TESTS_SUPPORT_SERVING_ROLE_H_

#include <string>

namespace aves::testing {

class ServingRole {
 public:
  // `cluster_url`: a connection of a role that may create roles.
  explicit ServingRole(const std::string& cluster_url);
  ~ServingRole();
  ServingRole(const ServingRole&) = delete;
  ServingRole& operator=(const ServingRole&) = delete;

  const std::string& name() const { return name_; }
  const std::string& password() const { return password_; }
  // `conninfo` (of a database of the cluster) as this role.
  std::string UrlFor(const std::string& conninfo) const;

 private:
  std::string cluster_url_;
  std::string name_;
  std::string password_;
};

}  // namespace aves::testing

#endif  // AVES_TESTS_SUPPORT_SERVING_ROLE_H_
