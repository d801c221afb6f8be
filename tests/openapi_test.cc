// The OpenAPI document served at /api/v1/openapi.json and the route table must agree exactly,
// including the roles each operation declares.

#include <gtest/gtest.h>

#include <set>

#include "api_fixture.h"

namespace vigil::testing {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

TEST(OpenApiTest, DocumentAndRoutesAgree) {
  ApiFixture f("sqlite");
  auto r = f.Call("GET", "/api/v1/openapi.json", Auth::None());
  ASSERT_EQ(r.status, 200);
  ASSERT_TRUE(r.body.is_object()) << "the document is not valid JSON";
  EXPECT_EQ(r.body["openapi"].get<std::string>().substr(0, 3), "3.1");
  std::set<std::string> documented;
  for (const auto& [path, item] : r.body["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters" || method == "summary" || method == "description") {
        continue;
      }
      documented.insert(Lower(method) + " " + path);
    }
  }
  std::set<std::string> routed;
  for (const auto& route : f.app().router().routes()) {
    routed.insert(Lower(route.method) + " " + route.pattern);
  }
  for (const auto& x : routed) {
    EXPECT_TRUE(documented.count(x)) << "undocumented route: " << x;
  }
  for (const auto& x : documented) {
    EXPECT_TRUE(routed.count(x)) << "documented, not routed: " << x;
  }
}

TEST(OpenApiTest, DeclaredRolesMatchTheRouteTable) {
  ApiFixture f("sqlite");
  auto doc = f.Call("GET", "/api/v1/openapi.json", Auth::None()).body;
  for (const auto& route : f.app().router().routes()) {
    const auto& op = doc["paths"][route.pattern][Lower(route.method)];
    ASSERT_TRUE(op.contains("x-vigil-roles")) << route.method << " " << route.pattern;
    std::set<std::string> roles;
    for (const auto& x : op["x-vigil-roles"]) {
      roles.insert(x.get<std::string>());
    }
    std::set<std::string> want;
    if (route.is_public) {
      want.insert("public");
    } else if (route.device_only) {
      want.insert("device");  // vigil-agent with its device credential, nobody else
    } else {
      for (auto role : domain::kAllRoles) {
        if (route.roles.Contains(role)) {
          want.insert(std::string(domain::RoleName(role)));
        }
      }
    }
    EXPECT_EQ(roles, want) << route.method << " " << route.pattern;
    EXPECT_EQ(op.value("x-vigil-session-only", false), route.session_only)
        << route.method << " " << route.pattern;
    EXPECT_TRUE(op.contains("operationId")) << route.pattern;
  }
}

}  // namespace
}  // namespace vigil::testing
