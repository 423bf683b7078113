// Who may call what: the one table of avesd's access policy (printed by
// `avesd policy`). Each RPC names the roles allowed to call it; `admin` may
// call everything; an RPC missing from the table is admin-only, so a method
// added to a proto without a rule here is closed, not open.
#ifndef AVES_SERVER_AUTH_POLICY_H_
#define AVES_SERVER_AUTH_POLICY_H_

#include <string>
#include <vector>

#include <absl/strings/string_view.h>

#include "server/auth/roles.h"

namespace aves::auth {

struct MethodRule {
  // "aves.data.v1.ExerciseCacheService/GetExercise": gRPC's path without
  // the leading slash.
  std::string method;
  // Who may call it besides admin.
  RoleSet roles;
  // Why, for `avesd policy`.
  const char* note;
};

// Every rule, one per RPC of our services.
const std::vector<MethodRule>& PolicyTable();

// The roles that may call `method` (admin always among them).
RoleSet RolesAllowed(absl::string_view method);

// The table as text, one line per RPC, for `avesd policy`.
std::string FormatPolicy();

}  // namespace aves::auth

#endif  // AVES_SERVER_AUTH_POLICY_H_
