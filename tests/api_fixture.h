#pragma once

// ApiFixture: a real App (the whole vigild request pipeline and store) on a temporary SQLite file,
// or on PostgreSQL when VIGIL_TEST_PG_URL is set and the test is instantiated for it. Requests go
// through App::Handle exactly as the HTTP server delivers them, without sockets, so the role ×
// tenant walk over every route stays fast. server_http_test.cc covers the same App over real TCP.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "domain/roles.h"
#include "net/http.h"
#include "server/app.h"

namespace vigil::testing {

// How a request authenticates.
struct Auth {
  std::string bearer;  // API token
  std::string cookie;  // session token
  std::string csrf;    // sent as X-CSRF-Token when set
  static Auth None() { return {}; }
  static Auth Token(std::string t) { return {std::move(t), "", ""}; }
  static Auth Session(std::string cookie, std::string csrf) {
    return {"", std::move(cookie), std::move(csrf)};
  }
};

struct Response {
  int status = 0;
  nlohmann::json body;  // null when the body is empty or not JSON
  std::string raw;
  net::HttpResponse http;
  std::string Header(std::string_view name) const {
    return std::string(http.Header(name).value_or(""));
  }
  // The first field error's field name, or "".
  std::string FirstErrorField() const;
};

// Store back ends the API suites run on: {"sqlite", "postgres"}.
std::vector<std::string> StoreKinds();

// Base of the suites parameterized by store: the PostgreSQL instances skip (and say so) when
// VIGIL_TEST_PG_URL names no server; scripts/test.sh always starts one.
class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
};

class ApiFixture {
 public:
  static constexpr const char* kOwnerEmail = "owner@msp.example";
  static constexpr const char* kPassword = "correct horse battery staple";

  // `store`: "sqlite" or "postgres".
  explicit ApiFixture(const std::string& store);
  ~ApiFixture();

  Response Call(const std::string& method, const std::string& target, const Auth& auth,
                const std::string& body = "", const std::string& content_type = "application/json",
                const std::string& remote = "127.0.0.1");
  Response Call(const std::string& method, const std::string& target, const Auth& auth,
                const nlohmann::json& body);

  // Signs in with e-mail and password (and TOTP code) and returns the session auth.
  Auth Login(const std::string& email, const std::string& password = kPassword,
             const std::string& totp = "");

  // Creates a user with `role` (bound to `client` for client roles) and returns an API token
  // (write scope) for it.
  Auth UserWithToken(domain::Role role, std::optional<ClientId> client,
                     std::string* email = nullptr, UserId* id = nullptr);

  ClientId CreateClient(const std::string& name);
  SiteId CreateSite(ClientId client, const std::string& name);
  ContactId CreateContact(ClientId client, const std::string& name);

  // Enrolls a device for `client` through the API (an enrollment token made by the owner, then
  // POST /api/v1/agent/enroll) and returns its id and credential.
  struct EnrolledDevice {
    DeviceId id{};
    std::string credential;
    Auth auth() const { return Auth::Token(credential); }
  };
  EnrolledDevice EnrollDevice(ClientId client, const std::string& hostname = "host-1");

  // Number of rows in a table (for "bad input changes nothing").
  int64_t Count(const std::string& table);
  // Check results in history (rows hold a batch each).
  int64_t StoredResults();

  // Requests arrive as if over TLS from now on.
  void set_tls(bool tls) { tls_ = tls; }
  server::App& app() { return *app_; }
  FakeClock& clock() { return clock_; }
  const Auth& owner() const { return owner_; }

 private:
  FakeClock clock_;
  std::filesystem::path dir_;
  std::string pg_schema_;
  std::unique_ptr<server::App> app_;
  Auth owner_;
  int users_ = 0;
  bool tls_ = false;
};

}  // namespace vigil::testing
