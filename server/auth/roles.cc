#include "server/auth/roles.h"

#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>
#include <absl/strings/strip.h>

namespace aves::auth {

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kFrontend:
      return "frontend";
    case Role::kReviewer:
      return "reviewer";
    case Role::kDashboard:
      return "dashboard";
    case Role::kLoader:
      return "loader";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

std::initializer_list<Role> AllRoles() {
  static constexpr std::initializer_list<Role> kAll = {
      Role::kFrontend, Role::kReviewer, Role::kDashboard,
      Role::kLoader,   Role::kOperator, Role::kAdmin};
  return kAll;
}

std::string RoleSet::ToString(absl::string_view separator) const {
  std::string out;
  for (Role role : AllRoles()) {
    if (!Has(role)) continue;
    if (!out.empty()) absl::StrAppend(&out, separator);
    absl::StrAppend(&out, RoleName(role));
  }
  return out.empty() ? "(none)" : out;
}

absl::StatusOr<Role> RoleNamed(absl::string_view name) {
  for (Role role : AllRoles()) {
    if (RoleName(role) == name) return role;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", name, "' is not a role (", RoleSet::All().ToString(", "), ")"));
}

absl::StatusOr<RoleSet> ParseRoles(absl::string_view text) {
  RoleSet roles;
  for (absl::string_view name : absl::StrSplit(text, absl::ByAnyChar("+,"))) {
    name = absl::StripAsciiWhitespace(name);
    if (name.empty()) continue;
    absl::StatusOr<Role> role = RoleNamed(name);
    if (!role.ok()) return role.status();
    roles.Add(*role);
  }
  if (roles.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no role in '", text, "'"));
  }
  return roles;
}

}  // namespace aves::auth
