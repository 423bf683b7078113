// The roles a caller of avesd can hold. Each is one kind of party that
// reaches the service (ARCHITECTURE.md, "Security"): the frontend backends,
// the reviewers' tools, the admin dashboard, the bulk loaders, operators and
// administrators. What each may call is policy.h's table.
#ifndef AVES_SERVER_AUTH_ROLES_H_
#define AVES_SERVER_AUTH_ROLES_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include <absl/status/statusor.h>
#include <absl/strings/string_view.h>

namespace aves::auth {

enum class Role : uint8_t {
  kFrontend,
  kReviewer,
  kDashboard,
  kLoader,
  kOperator,
  kAdmin,
};
inline constexpr int kRoleCount = 6;

// The name a token's `role` claim and a certificate mapping use.
absl::string_view RoleName(Role role);

// A set of roles, one bit each.
class RoleSet {
 public:
  constexpr RoleSet() = default;
  constexpr RoleSet(std::initializer_list<Role> roles) {
    for (Role role : roles) bits_ |= Bit(role);
  }
  static constexpr RoleSet All() {
    RoleSet all;
    all.bits_ = (1u << kRoleCount) - 1;
    return all;
  }

  constexpr bool Has(Role role) const { return (bits_ & Bit(role)) != 0; }
  constexpr bool Intersects(RoleSet other) const {
    return (bits_ & other.bits_) != 0;
  }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr void Add(Role role) { bits_ |= Bit(role); }
  constexpr void Add(RoleSet other) { bits_ |= other.bits_; }
  constexpr bool operator==(RoleSet other) const {
    return bits_ == other.bits_;
  }
  constexpr bool operator!=(RoleSet other) const { return !(*this == other); }

  // The names in declaration order, joined by `separator`; "(none)" when
  // empty.
  std::string ToString(absl::string_view separator = "+") const;

 private:
  static constexpr uint32_t Bit(Role role) {
    return 1u << static_cast<uint32_t>(role);
  }
  uint32_t bits_ = 0;
};

// Every role, in declaration order.
std::initializer_list<Role> AllRoles();

// The role called `name` (exact, lower case); INVALID_ARGUMENT otherwise.
absl::StatusOr<Role> RoleNamed(absl::string_view name);

// "loader+operator" or "loader,operator": INVALID_ARGUMENT naming an unknown
// role or an empty list.
absl::StatusOr<RoleSet> ParseRoles(absl::string_view text);

}  // namespace aves::auth

#endif  // AVES_SERVER_AUTH_ROLES_H_
