// The role × tenant walk: every route × every role × (own client, another client).
//
// The expectations below are written independently of the route table (they are what we promise
// to users, not a copy of the RoleSets in the handlers), and the first test fails when a route
// exists without an expectation here, or an expectation names a route that does not exist.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "api_fixture.h"

namespace vigil::testing {
namespace {

using domain::Role;
using nlohmann::json;

enum class Tenant { kOwn, kOther };

// What a request looks like for a target client; built fresh per call so mutating routes have
// something of their own to change.
struct Request {
  std::string target;
  json body;  // null: no body
};

struct World;
using Builder = std::function<Request(World&, ClientId target, Role role)>;

struct Expectation {
  std::string method;
  std::string pattern;
  // Who may call it. Empty + is_public: anyone, signed in or not.
  std::set<Role> roles;
  bool is_public = false;
  // True when the route reaches one client's data: client roles get 404 for another client.
  bool client_scoped = false;
  int ok_status = 200;  // status an allowed caller gets
  Builder build;
  int ok_status_postgres = 0;  // when it differs on PostgreSQL
  bool session_only = false;   // called with a signed-in session (API tokens get 403)
  // vigil-agent's routes: only a device credential opens them (people's tokens get 401).
  bool device_only = false;
};

const std::set<Role> kEveryone = {Role::kOwner,      Role::kAdmin,   Role::kTechnician,
                                  Role::kDispatcher, Role::kBilling, Role::kClientAdmin,
                                  Role::kClientUser};
const std::set<Role> kOwnerAdmin = {Role::kOwner, Role::kAdmin};
const std::set<Role> kDeployers = {Role::kOwner, Role::kAdmin, Role::kTechnician};
const std::set<Role> kStaffTech = {Role::kOwner, Role::kAdmin, Role::kTechnician,
                                   Role::kDispatcher};

struct World {
  explicit World(ApiFixture& fixture) : f(fixture) {
    own = f.CreateClient("Own Client GmbH");
    other = f.CreateClient("Other Client Ltd");
    for (Role r : domain::kAllRoles) {
      std::optional<ClientId> c;
      if (domain::IsClientRole(r)) {
        c = own;
      }
      std::string email;
      UserId id;
      auth[r] = f.UserWithToken(r, c, &email, &id);
      emails[r] = email;
      ids[r] = id;
      sessions[r] = f.Login(email);
    }
  }
  ApiFixture& f;
  ClientId own{}, other{};
  std::map<Role, Auth> auth;      // API tokens (write scope)
  std::map<Role, Auth> sessions;  // signed in with password
  std::map<Role, std::string> emails;
  std::map<Role, UserId> ids;
  int seq = 0;
  std::string Unique(std::string_view base) { return fmt::format("{} {}", base, ++seq); }
  std::map<ClientId, ApiFixture::EnrolledDevice> devices;
  // One long-lived device per client (routes that read); fresh ones for routes that revoke.
  const ApiFixture::EnrolledDevice& DeviceOf(ClientId c) {
    auto it = devices.find(c);
    if (it == devices.end()) {
      it = devices.emplace(c, f.EnrollDevice(c, Unique("device"))).first;
    }
    return it->second;
  }
  std::string NewEnrollmentToken(ClientId c, int64_t* id = nullptr) {
    auto r = f.Call("POST", fmt::format("/api/v1/clients/{}/enrollment-tokens", Raw(c)), f.owner(),
                    json{{"label", "walk"}});
    EXPECT_EQ(r.status, 201) << r.raw;
    if (id != nullptr) {
      *id = r.body.value("id", int64_t{0});
    }
    return r.body.value("token", "");
  }
};

std::string Path(std::string_view pattern, int64_t id) {
  std::string p(pattern);
  auto at = p.find("{id}");
  if (at != std::string::npos) {
    p.replace(at, 4, std::to_string(id));
  }
  return p;
}

std::vector<Expectation> Expectations() {
  auto fixed = [](const std::string& target, const json& body = nullptr) -> Builder {
    return [=](World&, ClientId, Role) { return Request{target, body}; };
  };
  auto client_path = [](const std::string& pattern, const json& body = nullptr) -> Builder {
    return [=](World&, ClientId c, Role) { return Request{Path(pattern, Raw(c)), body}; };
  };
  std::vector<Expectation> e;
  // --- system
  e.push_back({"GET", "/healthz", {}, true, false, 200, fixed("/healthz")});
  e.push_back({"GET", "/metrics", {}, true, false, 200, fixed("/metrics")});
  e.push_back({"GET", "/api/v1/openapi.json", {}, true, false, 200, fixed("/api/v1/openapi.json")});
  // On PostgreSQL, backups are pg_dump's job: the owner gets a clear 409 instead.
  e.push_back({"POST",
               "/api/v1/admin/backup",
               {Role::kOwner},
               false,
               false,
               201,
               fixed("/api/v1/admin/backup"),
               409});
  // --- auth
  e.push_back({"POST",
               "/api/v1/auth/login",
               {},
               true,
               false,
               200,
               fixed("/api/v1/auth/login", json{{"email", ApiFixture::kOwnerEmail},
                                                {"password", ApiFixture::kPassword}})});
  e.push_back(
      {"POST", "/api/v1/auth/logout", kEveryone, false, false, 204, fixed("/api/v1/auth/logout")});
  e.push_back({"GET", "/api/v1/auth/me", kEveryone, false, false, 200, fixed("/api/v1/auth/me")});
  e.push_back({"POST", "/api/v1/auth/password", kEveryone, false, false, 204,
               fixed("/api/v1/auth/password", json{{"current_password", ApiFixture::kPassword},
                                                   {"new_password", ApiFixture::kPassword}}),
               0, true});
  e.push_back({"POST", "/api/v1/auth/totp/setup", kEveryone, false, false, 200,
               fixed("/api/v1/auth/totp/setup"), 0, true});
  // A wrong code is refused with 400 for every caller allowed to try.
  e.push_back({"POST", "/api/v1/auth/totp/confirm", kEveryone, false, false, 400,
               fixed("/api/v1/auth/totp/confirm", json{{"code", "000000"}}), 0, true});
  // TOTP is not enabled for these users: 409 for everyone allowed.
  e.push_back({"POST", "/api/v1/auth/totp/disable", kEveryone, false, false, 409,
               fixed("/api/v1/auth/totp/disable",
                     json{{"password", ApiFixture::kPassword}, {"code", "123456"}}),
               0, true});
  // --- settings, audit
  e.push_back(
      {"GET", "/api/v1/settings", kOwnerAdmin, false, false, 200, fixed("/api/v1/settings")});
  e.push_back({"PATCH",
               "/api/v1/settings",
               {Role::kOwner},
               false,
               false,
               200,
               fixed("/api/v1/settings", json::object())});
  e.push_back({"GET", "/api/v1/audit", kOwnerAdmin, false, false, 200, fixed("/api/v1/audit")});
  // --- clients
  e.push_back({"GET", "/api/v1/clients", kEveryone, false, false, 200, fixed("/api/v1/clients")});
  e.push_back(
      {"POST", "/api/v1/clients", kOwnerAdmin, false, false, 201, [](World& w, ClientId, Role) {
         return Request{"/api/v1/clients", json{{"name", w.Unique("New client")}}};
       }});
  e.push_back({"GET", "/api/v1/clients/{id}", kEveryone, false, true, 200,
               client_path("/api/v1/clients/{id}")});
  e.push_back({"PATCH", "/api/v1/clients/{id}", kOwnerAdmin, false, true, 200,
               client_path("/api/v1/clients/{id}", json{{"notes", "patched"}})});
  // --- sites
  e.push_back({"GET", "/api/v1/clients/{id}/sites", kEveryone, false, true, 200,
               client_path("/api/v1/clients/{id}/sites")});
  e.push_back({"POST",
               "/api/v1/clients/{id}/sites",
               {Role::kOwner, Role::kAdmin, Role::kClientAdmin},
               false,
               true,
               201,
               [](World& w, ClientId c, Role) {
                 return Request{Path("/api/v1/clients/{id}/sites", Raw(c)),
                                json{{"name", w.Unique("Site")}}};
               }});
  e.push_back(
      {"GET", "/api/v1/sites/{id}", kEveryone, false, true, 200, [](World& w, ClientId c, Role) {
         return Request{Path("/api/v1/sites/{id}", Raw(w.f.CreateSite(c, w.Unique("S")))), nullptr};
       }});
  e.push_back({"PATCH",
               "/api/v1/sites/{id}",
               {Role::kOwner, Role::kAdmin, Role::kClientAdmin},
               false,
               true,
               200,
               [](World& w, ClientId c, Role) {
                 return Request{Path("/api/v1/sites/{id}", Raw(w.f.CreateSite(c, w.Unique("S")))),
                                json{{"address", "Main St 1"}}};
               }});
  e.push_back(
      {"DELETE", "/api/v1/sites/{id}", kOwnerAdmin, false, true, 204,
       [](World& w, ClientId c, Role) {
         return Request{Path("/api/v1/sites/{id}", Raw(w.f.CreateSite(c, w.Unique("S")))), nullptr};
       }});
  // --- contacts
  const std::set<Role> contact_editors = {Role::kOwner, Role::kAdmin, Role::kDispatcher,
                                          Role::kClientAdmin};
  e.push_back({"GET", "/api/v1/clients/{id}/contacts", kEveryone, false, true, 200,
               client_path("/api/v1/clients/{id}/contacts")});
  e.push_back({"POST", "/api/v1/clients/{id}/contacts", contact_editors, false, true, 201,
               client_path("/api/v1/clients/{id}/contacts", json{{"name", "Pat Contact"}})});
  e.push_back(
      {"GET", "/api/v1/contacts/{id}", kEveryone, false, true, 200, [](World& w, ClientId c, Role) {
         return Request{Path("/api/v1/contacts/{id}", Raw(w.f.CreateContact(c, "Pat"))), nullptr};
       }});
  e.push_back({"PATCH", "/api/v1/contacts/{id}", contact_editors, false, true, 200,
               [](World& w, ClientId c, Role) {
                 return Request{Path("/api/v1/contacts/{id}", Raw(w.f.CreateContact(c, "Pat"))),
                                json{{"is_billing", true}}};
               }});
  e.push_back(
      {"DELETE",
       "/api/v1/contacts/{id}",
       {Role::kOwner, Role::kAdmin, Role::kClientAdmin},
       false,
       true,
       204,
       [](World& w, ClientId c, Role) {
         return Request{Path("/api/v1/contacts/{id}", Raw(w.f.CreateContact(c, "Pat"))), nullptr};
       }});
  // --- users: owners and admins manage staff and contacts; a client admin manages the users of
  // its own client only.
  const std::set<Role> user_managers = {Role::kOwner, Role::kAdmin, Role::kClientAdmin};
  e.push_back({"GET", "/api/v1/users", user_managers, false, false, 200, fixed("/api/v1/users")});
  e.push_back(
      {"POST", "/api/v1/users", user_managers, false, true, 201, [](World& w, ClientId c, Role) {
         return Request{"/api/v1/users", json{{"email", fmt::format("new{}@example.com", ++w.seq)},
                                              {"name", "New"},
                                              {"role", "client_user"},
                                              {"client_id", Raw(c)}}};
       }});
  auto new_client_user = [](World& w, ClientId c) {
    auto r = w.f.Call("POST", "/api/v1/users", w.f.owner(),
                      json{{"email", fmt::format("cu{}@example.com", ++w.seq)},
                           {"name", "Client user"},
                           {"role", "client_user"},
                           {"client_id", Raw(c)}});
    EXPECT_EQ(r.status, 201) << r.raw;
    return r.body.value("id", int64_t{0});
  };
  e.push_back({"GET", "/api/v1/users/{id}", user_managers, false, true, 200,
               [=](World& w, ClientId c, Role) {
                 return Request{Path("/api/v1/users/{id}", new_client_user(w, c)), nullptr};
               }});
  e.push_back({"PATCH", "/api/v1/users/{id}", user_managers, false, true, 200,
               [=](World& w, ClientId c, Role) {
                 return Request{Path("/api/v1/users/{id}", new_client_user(w, c)),
                                json{{"name", "Renamed"}}};
               }});
  // --- API tokens: everyone manages their own.
  e.push_back({"GET", "/api/v1/tokens", kEveryone, false, false, 200, fixed("/api/v1/tokens")});
  e.push_back({"POST", "/api/v1/tokens", kEveryone, false, false, 201,
               fixed("/api/v1/tokens", json{{"name", "ci"}, {"scope", "read"}})});
  e.push_back({"DELETE", "/api/v1/tokens/{id}", kEveryone, false, false, 204,
               [](World& w, ClientId, Role role) {
                 storage::AuditContext a;
                 a.now = w.f.clock().Now();
                 auto t = w.f.app().auth().IssueToken(w.ids[role], "to revoke",
                                                      domain::TokenScope::kRead, std::nullopt, a);
                 return Request{Path("/api/v1/tokens/{id}", Raw(t->token.id)), nullptr};
               }});
  // --- enrollment tokens and devices
  e.push_back({"POST", "/api/v1/clients/{id}/enrollment-tokens", kDeployers, false, true, 201,
               client_path("/api/v1/clients/{id}/enrollment-tokens", json{{"label", "rollout"}})});
  e.push_back({"GET", "/api/v1/enrollment-tokens", kDeployers, false, false, 200,
               fixed("/api/v1/enrollment-tokens")});
  e.push_back({"DELETE", "/api/v1/enrollment-tokens/{id}", kDeployers, false, true, 204,
               [](World& w, ClientId c, Role) {
                 int64_t id = 0;
                 w.NewEnrollmentToken(c, &id);
                 return Request{Path("/api/v1/enrollment-tokens/{id}", id), nullptr};
               }});
  auto device_path = [](const std::string& pattern, const json& body = nullptr) -> Builder {
    return [=](World& w, ClientId c, Role) {
      return Request{Path(pattern, Raw(w.DeviceOf(c).id)), body};
    };
  };
  e.push_back({"GET", "/api/v1/devices", kEveryone, false, false, 200, fixed("/api/v1/devices")});
  e.push_back({"GET", "/api/v1/fleet/summary", kEveryone, false, false, 200,
               fixed("/api/v1/fleet/summary")});
  e.push_back({"GET", "/api/v1/devices/{id}", kEveryone, false, true, 200,
               device_path("/api/v1/devices/{id}")});
  e.push_back({"DELETE", "/api/v1/devices/{id}", kDeployers, false, true, 204,
               [](World& w, ClientId c, Role) {
                 return Request{
                     Path("/api/v1/devices/{id}", Raw(w.f.EnrollDevice(c, w.Unique("doomed")).id)),
                     nullptr};
               }});
  e.push_back({"GET", "/api/v1/devices/{id}/checks/{check}/history", kEveryone, false, true, 200,
               [](World& w, ClientId c, Role) {
                 return Request{
                     fmt::format("/api/v1/devices/{}/checks/cpu/history", Raw(w.DeviceOf(c).id)),
                     nullptr};
               }});
  e.push_back({"GET", "/api/v1/devices/{id}/inventory/history", kEveryone, false, true, 200,
               device_path("/api/v1/devices/{id}/inventory/history")});
  e.push_back({"GET", "/api/v1/devices/{id}/config", kStaffTech, false, true, 200,
               device_path("/api/v1/devices/{id}/config")});
  e.push_back({"PUT", "/api/v1/devices/{id}/config", kOwnerAdmin, false, true, 200,
               device_path("/api/v1/devices/{id}/config", json{{"override", json::object()}})});
  e.push_back({"GET", "/api/v1/device-kinds/{kind}/config", kStaffTech, false, false, 200,
               fixed("/api/v1/device-kinds/server/config")});
  e.push_back({"PUT", "/api/v1/device-kinds/{kind}/config", kOwnerAdmin, false, false, 200,
               fixed("/api/v1/device-kinds/server/config", json{{"override", json::object()}})});
  // --- the live event stream: the WebSocket upgrade is App::Upgrade's (every role, each seeing
  // its own tenants: tests/events_test.cc, EventsRoleTenantTest); a plain GET gets a clear 400.
  e.push_back({"GET", "/api/v1/events", kEveryone, false, false, 400, fixed("/api/v1/events")});
  // --- vigil-agent
  e.push_back(
      {"POST", "/api/v1/agent/enroll", {}, true, false, 201, [](World& w, ClientId c, Role) {
         return Request{"/api/v1/agent/enroll", json{{"token", w.NewEnrollmentToken(c)},
                                                     {"hostname", w.Unique("enrolled")}}};
       }});
  auto agent = [](std::string method, std::string pattern, int ok, Builder build) {
    Expectation x{std::move(method), std::move(pattern), {}, false, false, ok, std::move(build)};
    x.device_only = true;
    return x;
  };
  e.push_back(agent("POST", "/api/v1/agent/batches", 200, [](World& w, ClientId, Role) {
    return Request{"/api/v1/agent/batches", json{{"version", 1},
                                                 {"agent_version", "0.1.0"},
                                                 {"sequence", ++w.seq},
                                                 {"sent_at", FormatRfc3339(w.f.clock().Now())},
                                                 {"observations", json::array()}}};
  }));
  e.push_back(agent("PUT", "/api/v1/agent/inventory", 200,
                    fixed("/api/v1/agent/inventory", json{{"hostname", "walked"}})));
  e.push_back(agent("GET", "/api/v1/agent/config", 200, fixed("/api/v1/agent/config")));
  // A plain GET is not an upgrade: the device gets a clear 400.
  e.push_back(agent("GET", "/api/v1/agent/ws", 400, fixed("/api/v1/agent/ws")));
  return e;
}

class RoleTenantTest : public StoreTest {};

TEST_P(RoleTenantTest, EveryRouteHasAnExpectationAndViceVersa) {
  ApiFixture f(GetParam());
  std::set<std::string> routes, expected;
  for (const auto& r : f.app().router().routes()) {
    routes.insert(r.method + " " + r.pattern);
  }
  for (const auto& e : Expectations()) {
    expected.insert(e.method + " " + e.pattern);
  }
  for (const auto& r : routes) {
    EXPECT_TRUE(expected.count(r)) << "route without a role × tenant expectation: " << r;
  }
  for (const auto& e : expected) {
    EXPECT_TRUE(routes.count(e)) << "expectation for a route that does not exist: " << e;
  }
}

TEST_P(RoleTenantTest, EveryRouteEveryRoleBothTenants) {
  ApiFixture f(GetParam());
  World w(f);
  int checked = 0;
  for (const auto& e : Expectations()) {
    // Anonymous callers.
    {
      Request req = e.build(w, w.own, Role::kOwner);
      auto r =
          f.Call(e.method, req.target, Auth::None(), req.body.is_null() ? "" : req.body.dump());
      if (e.is_public) {
        EXPECT_EQ(r.status, e.ok_status) << e.method << " " << e.pattern << " anonymous: " << r.raw;
      } else {
        EXPECT_EQ(r.status, 401) << e.method << " " << e.pattern << " anonymous: " << r.raw;
        EXPECT_EQ(r.Header("content-type"), "application/problem+json");
      }
      ++checked;
    }
    if (e.is_public) {
      continue;
    }
    for (Role role : domain::kAllRoles) {
      for (Tenant tenant : {Tenant::kOwn, Tenant::kOther}) {
        ClientId target = tenant == Tenant::kOwn ? w.own : w.other;
        Request req = e.build(w, target, role);
        const Auth& who = e.session_only ? w.sessions[role] : w.auth[role];
        auto r = f.Call(e.method, req.target, who, req.body.is_null() ? "" : req.body.dump());
        std::string what =
            fmt::format("{} {} as {} on {} client: {}", e.method, req.target,
                        domain::RoleName(role), tenant == Tenant::kOwn ? "own" : "other", r.raw);
        int want;
        if (e.device_only) {
          want = 401;  // a person's token is not a device credential
        } else if (!e.roles.count(role)) {
          want = 403;
        } else if (e.client_scoped && domain::IsClientRole(role) && tenant == Tenant::kOther) {
          want = 404;  // another client's records do not exist for a client contact
        } else if (GetParam() == "postgres" && e.ok_status_postgres != 0) {
          want = e.ok_status_postgres;
        } else {
          want = e.ok_status;
        }
        EXPECT_EQ(r.status, want) << what;
        ++checked;
      }
    }
    if (e.device_only) {
      Request req = e.build(w, w.own, Role::kOwner);
      auto r = f.Call(e.method, req.target, w.DeviceOf(w.own).auth(),
                      req.body.is_null() ? "" : req.body.dump());
      EXPECT_EQ(r.status, e.ok_status) << e.method << " " << e.pattern << " as device: " << r.raw;
    }
  }
  EXPECT_GT(checked, 400);
}

// List endpoints without a client in the path must still filter to the caller's client.
TEST_P(RoleTenantTest, ListsShowClientContactsOnlyTheirOwnClient) {
  ApiFixture f(GetParam());
  World w(f);
  for (Role role : {Role::kClientAdmin, Role::kClientUser}) {
    auto r = f.Call("GET", "/api/v1/clients", w.auth[role]);
    ASSERT_EQ(r.status, 200) << r.raw;
    ASSERT_EQ(r.body["items"].size(), 1u) << r.raw;
    EXPECT_EQ(r.body["items"][0]["id"], Raw(w.own));
    EXPECT_EQ(r.body["total"], 1);
  }
  auto users = f.Call("GET", "/api/v1/users?limit=200", w.auth[Role::kClientAdmin]);
  ASSERT_EQ(users.status, 200);
  for (const auto& u : users.body["items"]) {
    EXPECT_EQ(u["client_id"], Raw(w.own)) << u.dump();
  }
  // A client admin cannot lift the scope with a filter, nor create staff, nor users elsewhere.
  auto other = f.Call("GET", fmt::format("/api/v1/users?client_id={}", Raw(w.other)),
                      w.auth[Role::kClientAdmin]);
  EXPECT_EQ(other.body["total"], 0);
  auto staff = f.Call("POST", "/api/v1/users", w.auth[Role::kClientAdmin],
                      json{{"email", "evil@example.com"}, {"name", "E"}, {"role", "owner"}});
  EXPECT_EQ(staff.status, 400) << staff.raw;
  EXPECT_EQ(staff.FirstErrorField(), "role");
  auto elsewhere = f.Call("POST", "/api/v1/users", w.auth[Role::kClientAdmin],
                          json{{"email", "x@example.com"},
                               {"name", "X"},
                               {"role", "client_user"},
                               {"client_id", Raw(w.other)}});
  EXPECT_EQ(elsewhere.status, 404) << elsewhere.raw;
  auto implicit = f.Call("POST", "/api/v1/users", w.auth[Role::kClientAdmin],
                         json{{"email", "y@example.com"}, {"name", "Y"}, {"role", "client_user"}});
  ASSERT_EQ(implicit.status, 201) << implicit.raw;
  EXPECT_EQ(implicit.body["client_id"], Raw(w.own));
  // Staff see both clients.
  auto all = f.Call("GET", "/api/v1/clients", w.auth[Role::kTechnician]);
  EXPECT_EQ(all.body["total"], 2);
  // Tokens: a technician sees only its own; an owner may list anyone's.
  auto mine = f.Call("GET", "/api/v1/tokens", w.auth[Role::kTechnician]);
  for (const auto& t : mine.body["items"]) {
    EXPECT_EQ(t["user_id"], Raw(w.ids[Role::kTechnician]));
  }
  auto theirs = f.Call("GET", fmt::format("/api/v1/tokens?user_id={}", Raw(w.ids[Role::kOwner])),
                       w.auth[Role::kTechnician]);
  EXPECT_EQ(theirs.status, 403);
}

// Password and second-factor changes need the person, not a token: a leaked token cannot take
// over the account.
TEST_P(RoleTenantTest, AccountSecurityRoutesRefuseApiTokens) {
  ApiFixture f(GetParam());
  World w(f);
  int checked = 0;
  for (const auto& e : Expectations()) {
    if (!e.session_only) {
      continue;
    }
    Request req = e.build(w, w.own, Role::kTechnician);
    auto r = f.Call(e.method, req.target, w.auth[Role::kTechnician],
                    req.body.is_null() ? "" : req.body.dump());
    EXPECT_EQ(r.status, 403) << e.pattern << ": " << r.raw;
    ++checked;
  }
  EXPECT_EQ(checked, 4);
}

// Another user's token cannot be revoked by a non-admin; it looks like it does not exist.
TEST_P(RoleTenantTest, TokensOfOthersAreInvisible) {
  ApiFixture f(GetParam());
  World w(f);
  storage::AuditContext a;
  a.now = f.clock().Now();
  auto t = f.app().auth().IssueToken(w.ids[Role::kOwner], "owner's", domain::TokenScope::kWrite,
                                     std::nullopt, a);
  auto r = f.Call("DELETE", fmt::format("/api/v1/tokens/{}", Raw(t->token.id)),
                  w.auth[Role::kClientAdmin]);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(f.Call("GET", "/api/v1/auth/me", Auth::Token(t->secret)).status, 200);
}

// A device credential opens vigil-agent's routes and nothing else: not the people's API, and
// revoked, not even those.
TEST_P(RoleTenantTest, DeviceCredentialsOpenOnlyTheAgentRoutes) {
  ApiFixture f(GetParam());
  World w(f);
  const auto& dev = w.DeviceOf(w.own);
  for (const auto& e : Expectations()) {
    if (e.is_public || e.device_only) {
      continue;
    }
    Request req = e.build(w, w.own, Role::kOwner);
    auto r = f.Call(e.method, req.target, dev.auth(), req.body.is_null() ? "" : req.body.dump());
    EXPECT_EQ(r.status, 401) << e.method << " " << req.target
                             << " with a device credential: " << r.raw;
  }
  auto revoke = f.Call("DELETE", fmt::format("/api/v1/devices/{}", Raw(dev.id)), f.owner());
  ASSERT_EQ(revoke.status, 204) << revoke.raw;
  for (const auto& e : Expectations()) {
    if (!e.device_only) {
      continue;
    }
    Request req = e.build(w, w.own, Role::kOwner);
    auto r = f.Call(e.method, req.target, dev.auth(), req.body.is_null() ? "" : req.body.dump());
    EXPECT_EQ(r.status, 401) << e.method << " " << e.pattern << " revoked: " << r.raw;
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, RoleTenantTest, ::testing::ValuesIn(StoreKinds()),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace vigil::testing
