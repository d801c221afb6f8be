#include "domain/roles.h"

#include <gtest/gtest.h>

namespace vigil::domain {
namespace {

TEST(RolesTest, NamesRoundTrip) {
  for (Role r : kAllRoles) {
    EXPECT_EQ(ParseRole(RoleName(r)), r);
  }
  EXPECT_FALSE(ParseRole("root").has_value());
  EXPECT_FALSE(ParseRole("").has_value());
}

TEST(RolesTest, StaffAndClientRoles) {
  EXPECT_TRUE(IsStaffRole(Role::kOwner));
  EXPECT_TRUE(IsStaffRole(Role::kBilling));
  EXPECT_TRUE(IsClientRole(Role::kClientAdmin));
  EXPECT_TRUE(IsClientRole(Role::kClientUser));
  EXPECT_EQ(StaffRoleNames().size() + ClientRoleNames().size(), RoleNames().size());
}

TEST(RolesTest, RoleSet) {
  RoleSet s = {Role::kOwner, Role::kClientUser};
  EXPECT_TRUE(s.Contains(Role::kOwner));
  EXPECT_FALSE(s.Contains(Role::kAdmin));
  EXPECT_EQ(s.ToString(), "owner,client_user");
  EXPECT_TRUE(RoleSet().empty());
  EXPECT_FALSE(RoleSet::Staff().Contains(Role::kClientAdmin));
}

TEST(RolesTest, PrincipalScope) {
  Principal staff;
  staff.role = Role::kTechnician;
  EXPECT_FALSE(staff.ClientScope().has_value());
  EXPECT_TRUE(staff.CanSeeClient(ClientId{7}));
  Principal contact;
  contact.role = Role::kClientUser;
  contact.client_id = ClientId{3};
  EXPECT_EQ(contact.ClientScope(), ClientId{3});
  EXPECT_TRUE(contact.CanSeeClient(ClientId{3}));
  EXPECT_FALSE(contact.CanSeeClient(ClientId{4}));
}

TEST(RolesTest, WhoMayGrantWhat) {
  EXPECT_TRUE(MayGrantRole(Role::kOwner, Role::kOwner));
  EXPECT_FALSE(MayGrantRole(Role::kAdmin, Role::kOwner));
  EXPECT_TRUE(MayGrantRole(Role::kAdmin, Role::kTechnician));
  EXPECT_TRUE(MayGrantRole(Role::kClientAdmin, Role::kClientUser));
  EXPECT_FALSE(MayGrantRole(Role::kClientAdmin, Role::kTechnician));
  EXPECT_FALSE(MayGrantRole(Role::kTechnician, Role::kClientUser));
  EXPECT_FALSE(MayGrantRole(Role::kClientUser, Role::kClientUser));
}

}  // namespace
}  // namespace vigil::domain
