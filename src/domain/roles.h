#pragma once

// Roles and the principal (who is calling). Pure logic.
//
// Staff roles belong to the provider (the MSP) and see every client. Client roles are bound to one
// client and see only that client's data: every query on client data is scoped with
// Principal::ClientScope().

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ids.h"

namespace vigil::domain {

enum class Role : uint8_t {
  kOwner,
  kAdmin,
  kTechnician,
  kDispatcher,
  kBilling,
  kClientAdmin,
  kClientUser,
};

inline constexpr Role kAllRoles[] = {Role::kOwner,      Role::kAdmin,   Role::kTechnician,
                                     Role::kDispatcher, Role::kBilling, Role::kClientAdmin,
                                     Role::kClientUser};

std::string_view RoleName(Role role);  // "owner", "client_admin", ...
std::optional<Role> ParseRole(std::string_view name);
bool IsStaffRole(Role role);
bool IsClientRole(Role role);
// Names of every role, for validation messages.
std::vector<std::string_view> RoleNames();
std::vector<std::string_view> StaffRoleNames();
std::vector<std::string_view> ClientRoleNames();

// A bit set of roles, as declared by each API route.
class RoleSet {
 public:
  constexpr RoleSet() = default;
  constexpr RoleSet(std::initializer_list<Role> roles) {
    for (Role r : roles) {
      bits_ |= Bit(r);
    }
  }
  static constexpr RoleSet All() {
    return {Role::kOwner,   Role::kAdmin,       Role::kTechnician, Role::kDispatcher,
            Role::kBilling, Role::kClientAdmin, Role::kClientUser};
  }
  static constexpr RoleSet Staff() {
    return {Role::kOwner, Role::kAdmin, Role::kTechnician, Role::kDispatcher, Role::kBilling};
  }
  constexpr bool Contains(Role r) const { return (bits_ & Bit(r)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  std::string ToString() const;  // "owner,admin"

 private:
  static constexpr uint32_t Bit(Role r) { return 1u << static_cast<uint32_t>(r); }
  uint32_t bits_ = 0;
};

enum class AuthMethod { kSession, kApiToken };

// What an API token may do. kRead: safe methods only. kWrite: everything its user may do.
enum class TokenScope : uint8_t { kRead, kWrite };
std::string_view TokenScopeName(TokenScope scope);
std::optional<TokenScope> ParseTokenScope(std::string_view name);

struct Principal {
  UserId user_id{};
  std::string email;
  Role role = Role::kClientUser;
  std::optional<ClientId> client_id;  // set exactly for client roles
  AuthMethod method = AuthMethod::kSession;
  std::optional<TokenId> token_id;  // when method == kApiToken
  TokenScope scope = TokenScope::kWrite;
  bool totp_enabled = false;  // the user has enrolled a second factor

  bool is_staff() const { return IsStaffRole(role); }
  // nullopt: may see every client; else only this one.
  std::optional<ClientId> ClientScope() const { return is_staff() ? std::nullopt : client_id; }
  // True when this principal may see data of `client`.
  bool CanSeeClient(ClientId client) const { return is_staff() || client_id == client; }
};

// Which roles a user with `actor` role may grant to other users.
// owner: any role; admin: any except owner; client_admin: client roles (own client only).
bool MayGrantRole(Role actor, Role target);

}  // namespace vigil::domain
