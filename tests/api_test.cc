// Clients, sites, contacts and users through the API: validation messages, PATCH semantics,
// pagination, audit, and bad input that must get a clear 4xx and change nothing.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "api_fixture.h"

namespace vigil::testing {
namespace {

using nlohmann::json;

class ApiTest : public StoreTest {};

TEST_P(ApiTest, ClientLifecycleWithAllFields) {
  ApiFixture f(GetParam());
  json body = {{"name", "Müller & Söhne <GmbH>"},
               {"timezone", "Europe/Berlin"},
               {"currency", "EUR"},
               {"employees", 42},
               {"business_hours", {{"mon", {"07:30", "16:00"}}, {"sat", nullptr}}},
               {"downtime_cost",
                {{"staff_affected", 40},
                 {"loaded_hourly_cost_minor", 4500},
                 {"revenue_per_hour_minor", 120000}}},
               {"notes", "line 1\nline 2"}};
  auto r = f.Call("POST", "/api/v1/clients", f.owner(), body);
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["name"], "Müller & Söhne <GmbH>");
  EXPECT_EQ(r.body["business_hours"]["mon"], json::array({"07:30", "16:00"}));
  EXPECT_EQ(r.body["business_hours"]["tue"], json::array({"08:00", "17:00"})) << "the default";
  EXPECT_TRUE(r.body["business_hours"]["sat"].is_null());
  EXPECT_EQ(r.body["downtime_cost"]["effective_per_hour_minor"], 40 * 4500 + 120000);
  int64_t id = r.body["id"];

  // The JSON read can be sent back as it is.
  json echoed = r.body;
  for (const char* ro : {"id", "created_at", "updated_at", "status"}) {
    echoed.erase(ro);
  }
  auto same = f.Call("PATCH", fmt::format("/api/v1/clients/{}", id), f.owner(), echoed);
  EXPECT_EQ(same.status, 200) << same.raw;

  // PATCH changes only what it names; null clears a nullable field.
  auto p = f.Call("PATCH", fmt::format("/api/v1/clients/{}", id), f.owner(),
                  json{{"employees", nullptr}, {"downtime_cost", {{"per_hour_minor", 99900}}}});
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_TRUE(p.body["employees"].is_null());
  EXPECT_EQ(p.body["timezone"], "Europe/Berlin");
  EXPECT_EQ(p.body["downtime_cost"]["effective_per_hour_minor"], 99900);
  EXPECT_EQ(p.body["downtime_cost"]["staff_affected"], 40);

  // A PATCH of business hours changes the days it names.
  auto hours = f.Call("PATCH", fmt::format("/api/v1/clients/{}", id), f.owner(),
                      json{{"business_hours", {{"fri", nullptr}, {"sat", {"09:00", "12:00"}}}}});
  ASSERT_EQ(hours.status, 200) << hours.raw;
  EXPECT_EQ(hours.body["business_hours"]["mon"], json::array({"07:30", "16:00"}));
  EXPECT_TRUE(hours.body["business_hours"]["fri"].is_null());
  EXPECT_EQ(hours.body["business_hours"]["sat"], json::array({"09:00", "12:00"}));

  auto archived = f.Call("PATCH", fmt::format("/api/v1/clients/{}", id), f.owner(),
                         json{{"status", "archived"}});
  EXPECT_EQ(archived.body["status"], "archived");
  EXPECT_EQ(f.Call("GET", "/api/v1/clients?status=active", f.owner()).body["total"], 0);
  EXPECT_EQ(f.Call("GET", "/api/v1/clients?status=archived", f.owner()).body["total"], 1);
}

TEST_P(ApiTest, DuplicateNamesAreConflictsNamingTheField) {
  ApiFixture f(GetParam());
  f.CreateClient("Acme");
  auto r = f.Call("POST", "/api/v1/clients", f.owner(), json{{"name", "ACME"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.FirstErrorField(), "name");
  EXPECT_EQ(r.Header("content-type"), "application/problem+json");
}

TEST_P(ApiTest, SitesAndContacts) {
  ApiFixture f(GetParam());
  ClientId a = f.CreateClient("A");
  ClientId b = f.CreateClient("B");
  SiteId hq = f.CreateSite(a, "HQ");
  SiteId other = f.CreateSite(b, "Elsewhere");
  auto c = f.Call("POST", fmt::format("/api/v1/clients/{}/contacts", Raw(a)), f.owner(),
                  json{{"name", "Pat"},
                       {"email", "Pat@Example.com"},
                       {"phone", "+49 30 1234567"},
                       {"site_id", Raw(hq)},
                       {"is_primary", true}});
  ASSERT_EQ(c.status, 201) << c.raw;
  EXPECT_EQ(c.body["email"], "pat@example.com");
  auto wrong_site = f.Call("POST", fmt::format("/api/v1/clients/{}/contacts", Raw(a)), f.owner(),
                           json{{"name", "Sam"}, {"site_id", Raw(other)}});
  EXPECT_EQ(wrong_site.status, 400);
  EXPECT_EQ(wrong_site.FirstErrorField(), "site_id");
  auto bad = f.Call("POST", fmt::format("/api/v1/clients/{}/contacts", Raw(a)), f.owner(),
                    json{{"name", "Sam"}, {"email", "not-an-email"}, {"phone", "call me"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["errors"].size(), 2u);
  EXPECT_EQ(
      f.Call("GET", fmt::format("/api/v1/clients/{}/contacts?flag=primary", Raw(a)), f.owner())
          .body["total"],
      1);
  // A site with contacts cannot be deleted.
  auto del = f.Call("DELETE", fmt::format("/api/v1/sites/{}", Raw(hq)), f.owner());
  EXPECT_EQ(del.status, 409);
  int64_t cid = c.body["id"];
  EXPECT_EQ(f.Call("DELETE", fmt::format("/api/v1/contacts/{}", cid), f.owner()).status, 204);
  EXPECT_EQ(f.Call("DELETE", fmt::format("/api/v1/sites/{}", Raw(hq)), f.owner()).status, 204);
  EXPECT_EQ(f.Call("GET", fmt::format("/api/v1/sites/{}", Raw(hq)), f.owner()).status, 404);
}

TEST_P(ApiTest, PaginationFilteringSorting) {
  ApiFixture f(GetParam());
  for (int i = 0; i < 25; ++i) {
    f.CreateClient(fmt::format("Client {:02d}", i));
  }
  auto page = f.Call("GET", "/api/v1/clients?limit=10&offset=20&sort=-name", f.owner());
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.body["total"], 25);
  ASSERT_EQ(page.body["items"].size(), 5u);
  EXPECT_EQ(page.body["items"][0]["name"], "Client 04");
  auto search = f.Call("GET", "/api/v1/clients?q=client%201", f.owner());
  EXPECT_EQ(search.body["total"], 10);  // Client 10..19
  auto wildcard = f.Call("GET", "/api/v1/clients?q=%25", f.owner());
  EXPECT_EQ(wildcard.body["total"], 0) << "LIKE wildcards are escaped";
  for (const char* bad : {"limit=0", "limit=201", "limit=abc", "offset=-1", "sort=password_hash",
                          "sort=name;DROP%20TABLE%20clients", "status=deleted", "colour=red"}) {
    auto r = f.Call("GET", std::string("/api/v1/clients?") + bad, f.owner());
    EXPECT_EQ(r.status, 400) << bad << ": " << r.raw;
    EXPECT_FALSE(r.FirstErrorField().empty()) << bad;
  }
  EXPECT_EQ(f.Count("clients"), 25);
}

TEST_P(ApiTest, AuditRecordsWhoWhatAndBeforeAfterAndCannotBeChanged) {
  ApiFixture f(GetParam());
  ClientId c = f.CreateClient("Audited");
  f.Call("PATCH", fmt::format("/api/v1/clients/{}", Raw(c)), f.owner(), json{{"notes", "new"}});
  auto log = f.Call("GET", "/api/v1/audit?entity_type=client", f.owner());
  ASSERT_EQ(log.status, 200);
  ASSERT_EQ(log.body["total"], 2);
  const auto& update = log.body["items"][0];  // newest first
  EXPECT_EQ(update["action"], "client.update");
  EXPECT_EQ(update["actor"]["label"], ApiFixture::kOwnerEmail);
  EXPECT_EQ(update["before"]["notes"], "");
  EXPECT_EQ(update["after"]["notes"], "new");
  EXPECT_EQ(update["client_id"], Raw(c));
  EXPECT_FALSE(update["request_id"].get<std::string>().empty());
  // The store itself refuses to rewrite history.
  Status st = f.app().db().Write(
      [](storage::Tx& tx) { return tx.Exec("UPDATE audit_log SET action = 'x'").status(); });
  EXPECT_FALSE(st.ok());
  Status del =
      f.app().db().Write([](storage::Tx& tx) { return tx.Exec("DELETE FROM audit_log").status(); });
  EXPECT_FALSE(del.ok());
}

// Hostile and malformed bodies: each gets a 4xx problem+json naming the field, and nothing changes.
TEST_P(ApiTest, BadInputGetsAClearErrorAndChangesNothing) {
  ApiFixture f(GetParam());
  ClientId existing = f.CreateClient("Existing");
  int64_t clients = f.Count("clients");
  int64_t audit = f.Count("audit_log");
  struct Case {
    std::string body;
    int status;
    std::string field;  // "" when the error is about the whole body
  };
  std::string deep = std::string(1000, '[') + std::string(1000, ']');
  const Case cases[] = {
      {"", 400, ""},
      {"{", 400, ""},
      {"not json", 400, ""},
      {"[]", 400, ""},
      {"null", 400, ""},
      {"{\"name\": \"A\"} {}", 400, ""},
      {"{\"name\": \"A\", \"name\": 5}", 400, "name"},
      {"{}", 400, "name"},
      {"{\"name\": 42}", 400, "name"},
      {"{\"name\": \"\"}", 400, "name"},
      {"{\"name\": \"" + std::string(201, 'x') + "\"}", 400, "name"},
      {"{\"name\": \"A\\u0000B\"}", 400, "name"},
      {"{\"name\": \"bad \xff utf8\"}", 400, ""},
      {"{\"name\": \"A\", \"admin\": true}", 400, "admin"},
      {"{\"name\": \"A\", \"employees\": 1e400}", 400, ""},
      {"{\"name\": \"A\", \"employees\": 99999999999999999999999}", 400, "employees"},
      {"{\"name\": \"A\", \"employees\": -1}", 400, "employees"},
      {"{\"name\": \"A\", \"employees\": 1.5}", 400, "employees"},
      {"{\"name\": \"A\", \"timezone\": \"../../etc/passwd\"}", 400, "timezone"},
      {"{\"name\": \"A\", \"timezone\": \"Mars/Olympus\"}", 400, "timezone"},
      {"{\"name\": \"A\", \"currency\": \"XYZ\"}", 400, "currency"},
      {"{\"name\": \"A\", \"business_hours\": {\"mon\": [\"18:00\", \"08:00\"]}}", 400,
       "business_hours.mon"},
      {"{\"name\": \"A\", \"business_hours\": {\"funday\": null}}", 400, "business_hours.funday"},
      {"{\"name\": \"A\", \"downtime_cost\": {\"per_hour_minor\": \"lots\"}}", 400,
       "downtime_cost.per_hour_minor"},
      {"{\"name\": " + deep + "}", 400, ""},
      {"{\"name\": \"Existing\"}", 409, "name"},
  };
  for (const auto& c : cases) {
    auto r = f.Call("POST", "/api/v1/clients", f.owner(), c.body);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 80) << " → " << r.raw;
    EXPECT_EQ(r.Header("content-type"), "application/problem+json") << c.body.substr(0, 80);
    EXPECT_FALSE(r.body.value("detail", "").empty()) << c.body.substr(0, 80);
    if (!c.field.empty()) {
      EXPECT_EQ(r.FirstErrorField(), c.field) << c.body.substr(0, 80);
    }
  }
  // Oversized and wrongly typed bodies.
  EXPECT_EQ(f.Call("POST", "/api/v1/clients", f.owner(), std::string(2 << 20, ' ')).status, 413);
  EXPECT_EQ(f.Call("POST", "/api/v1/clients", f.owner(), "{\"name\":\"A\"}", "text/plain").status,
            415);
  EXPECT_EQ(f.Call("POST", "/api/v1/clients", f.owner(), "{\"name\":\"A\"}", "").status, 415);
  // SQL metacharacters are data, not code.
  auto sql = f.Call("PATCH", fmt::format("/api/v1/clients/{}", Raw(existing)), f.owner(),
                    json{{"notes", "'); DROP TABLE clients; --"}});
  EXPECT_EQ(sql.status, 200);
  EXPECT_EQ(sql.body["notes"], "'); DROP TABLE clients; --");
  EXPECT_EQ(f.Count("clients"), clients);
  EXPECT_EQ(f.Count("audit_log"), audit + 1);  // only the valid PATCH
  // Ids that cannot exist are simply not found.
  for (const char* id : {"0", "-1", "abc", "1e3", "99999999999999999999", "01"}) {
    EXPECT_EQ(f.Call("GET", std::string("/api/v1/clients/") + id, f.owner()).status, 404) << id;
  }
  EXPECT_EQ(f.Call("GET", "/api/v1/nowhere", f.owner()).status, 404);
  EXPECT_EQ(f.Call("PUT", "/api/v1/clients", f.owner()).status, 405);
  EXPECT_EQ(f.Call("GET", "/api/v1/clients/", f.owner()).status, 404);
}

TEST_P(ApiTest, UsersValidation) {
  ApiFixture f(GetParam());
  auto staff_with_client = f.Call(
      "POST", "/api/v1/users", f.owner(),
      json{{"email", "t@example.com"}, {"name", "T"}, {"role", "technician"}, {"client_id", 1}});
  EXPECT_EQ(staff_with_client.status, 400);
  EXPECT_EQ(staff_with_client.FirstErrorField(), "client_id");
  auto contact_without =
      f.Call("POST", "/api/v1/users", f.owner(),
             json{{"email", "c@example.com"}, {"name", "C"}, {"role", "client_user"}});
  EXPECT_EQ(contact_without.FirstErrorField(), "client_id");
  auto bad_role = f.Call("POST", "/api/v1/users", f.owner(),
                         json{{"email", "r@example.com"}, {"name", "R"}, {"role", "root"}});
  EXPECT_EQ(bad_role.FirstErrorField(), "role");
  auto generated = f.Call("POST", "/api/v1/users", f.owner(),
                          json{{"email", "New@Example.com"}, {"name", "N"}, {"role", "billing"}});
  ASSERT_EQ(generated.status, 201) << generated.raw;
  EXPECT_EQ(generated.body["email"], "new@example.com");
  std::string initial = generated.body["initial_password"];
  EXPECT_GE(initial.size(), 12u);
  f.Login("new@example.com", initial);
  auto dup = f.Call("POST", "/api/v1/users", f.owner(),
                    json{{"email", "NEW@example.com"}, {"name", "N"}, {"role", "billing"}});
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.FirstErrorField(), "email");
}

TEST_P(ApiTest, HealthzAndMetrics) {
  ApiFixture f(GetParam());
  auto h = f.Call("GET", "/healthz", Auth::None());
  ASSERT_EQ(h.status, 200);
  EXPECT_EQ(h.body["status"], "ok");
  EXPECT_GE(h.body["schema_version"], 1);
  f.Call("GET", "/api/v1/clients/77", f.owner());
  auto m = f.Call("GET", "/metrics", Auth::None());
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.Header("content-type").find("text/plain"), std::string::npos);
  EXPECT_NE(m.raw.find("vigil_http_requests_total{method=\"GET\",route=\"/api/v1/clients/{id}\","
                       "status=\"404\"} 1"),
            std::string::npos)
      << m.raw;
  EXPECT_NE(m.raw.find("vigil_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(m.raw.find("vigil_db_transaction_duration_seconds_count{kind=\"write\"}"),
            std::string::npos);
}

TEST_P(ApiTest, SecurityHeadersAndRequestIds) {
  ApiFixture f(GetParam());
  auto r = f.Call("GET", "/api/v1/clients/12345", f.owner());
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  EXPECT_NE(r.Header("content-security-policy").find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(r.Header("content-security-policy").find("unsafe-inline"), std::string::npos);
  EXPECT_TRUE(r.Header("strict-transport-security").empty()) << "HSTS only under TLS";
  EXPECT_FALSE(r.Header("x-request-id").empty());
  EXPECT_EQ(r.body["request_id"], r.Header("x-request-id"));
}

INSTANTIATE_TEST_SUITE_P(Stores, ApiTest, ::testing::ValuesIn(StoreKinds()),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace vigil::testing
