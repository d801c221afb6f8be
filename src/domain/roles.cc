#include "domain/roles.h"

namespace vigil::domain {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kOwner:
      return "owner";
    case Role::kAdmin:
      return "admin";
    case Role::kTechnician:
      return "technician";
    case Role::kDispatcher:
      return "dispatcher";
    case Role::kBilling:
      return "billing";
    case Role::kClientAdmin:
      return "client_admin";
    case Role::kClientUser:
      return "client_user";
  }
  return "client_user";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : kAllRoles) {
    if (RoleName(r) == name) {
      return r;
    }
  }
  return std::nullopt;
}

bool IsStaffRole(Role role) { return role != Role::kClientAdmin && role != Role::kClientUser; }
bool IsClientRole(Role role) { return !IsStaffRole(role); }

std::vector<std::string_view> RoleNames() {
  std::vector<std::string_view> out;
  for (Role r : kAllRoles) {
    out.push_back(RoleName(r));
  }
  return out;
}
std::vector<std::string_view> StaffRoleNames() {
  std::vector<std::string_view> out;
  for (Role r : kAllRoles) {
    if (IsStaffRole(r)) {
      out.push_back(RoleName(r));
    }
  }
  return out;
}
std::vector<std::string_view> ClientRoleNames() {
  std::vector<std::string_view> out;
  for (Role r : kAllRoles) {
    if (IsClientRole(r)) {
      out.push_back(RoleName(r));
    }
  }
  return out;
}

std::string RoleSet::ToString() const {
  std::string out;
  for (Role r : kAllRoles) {
    if (!Contains(r)) {
      continue;
    }
    if (!out.empty()) {
      out += ",";
    }
    out += RoleName(r);
  }
  return out;
}

std::string_view TokenScopeName(TokenScope scope) {
  return scope == TokenScope::kRead ? "read" : "write";
}

std::optional<TokenScope> ParseTokenScope(std::string_view name) {
  if (name == "read") {
    return TokenScope::kRead;
  }
  if (name == "write") {
    return TokenScope::kWrite;
  }
  return std::nullopt;
}

bool MayGrantRole(Role actor, Role target) {
  switch (actor) {
    case Role::kOwner:
      return true;
    case Role::kAdmin:
      return target != Role::kOwner;
    case Role::kClientAdmin:
      return IsClientRole(target);
    default:
      return false;
  }
}

}  // namespace vigil::domain
