// Fuzzes vigild's whole request pipeline with hostile requests: the first byte picks a route,
// the rest is split into query string and body. The App runs on a temporary SQLite store and the
// caller is the owner (the most powerful role, so every handler is reached). Every response must
// be well-formed: a status in 200..599 and, for errors, a problem+json body.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "core/clock.h"
#include "crypto/crypto.h"
#include "server/app.h"

namespace {

struct World {
  vigil::FakeClock clock{vigil::FromUnixMillis(1'795'000'000'000)};
  std::unique_ptr<vigil::server::App> app;
  std::string token;

  World() {
    auto dir = std::filesystem::temp_directory_path() / ("vigil-fuzz-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    vigil::server::AppOptions o;
    o.data_dir = dir.string();
    o.auth.password_cost = vigil::crypto::PasswordCost::kMinimum;
    app = std::move(*vigil::server::App::Create(o, clock));
    (void)app->EnsureOwner("owner@example.com", "correct horse battery");
    vigil::storage::AuditContext a;
    a.now = clock.Now();
    token = app->auth()
                .IssueToken(vigil::UserId{1}, "fuzz", vigil::domain::TokenScope::kWrite,
                            std::nullopt, a)
                ->secret;
    // Something to find and change.
    vigil::net::HttpRequest req;
    req.method = "POST";
    req.path = req.target = "/api/v1/clients";
    req.headers = {{"authorization", "Bearer " + token}, {"content-type", "application/json"}};
    req.body = R"({"name":"Seed"})";
    app->Handle(req);
  }
};

const char* kTargets[][2] = {
    {"POST", "/api/v1/clients"},
    {"PATCH", "/api/v1/clients/1"},
    {"POST", "/api/v1/clients/1/sites"},
    {"POST", "/api/v1/clients/1/contacts"},
    {"PATCH", "/api/v1/contacts/1"},
    {"POST", "/api/v1/users"},
    {"PATCH", "/api/v1/users/1"},
    {"POST", "/api/v1/tokens"},
    {"POST", "/api/v1/auth/login"},
    {"PATCH", "/api/v1/settings"},
    {"GET", "/api/v1/clients"},
    {"GET", "/api/v1/audit"},
    {"POST", "/api/v1/auth/totp/confirm"},
    {"GET", "/api/v1/users"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* w = new World();
  if (size == 0) {
    return 0;
  }
  const auto& t = kTargets[data[0] % (sizeof(kTargets) / sizeof(kTargets[0]))];
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  vigil::net::HttpRequest req;
  req.method = t[0];
  req.path = t[1];
  // "query\nbody": GET routes read the query, others the body.
  auto nl = rest.find('\n');
  req.query = nl == std::string::npos ? "" : rest.substr(0, nl);
  req.body = nl == std::string::npos ? rest : rest.substr(nl + 1);
  req.target = req.path + "?" + req.query;
  req.remote_address = "127.0.0.1";
  req.headers = {{"authorization", "Bearer " + w->token}, {"content-type", "application/json"}};
  w->clock.Advance(std::chrono::milliseconds(1));
  vigil::net::HttpResponse resp = w->app->Handle(req);
  if (resp.status < 200 || resp.status > 599) {
    std::abort();
  }
  if (resp.status >= 400 && resp.Header("content-type") != "application/problem+json") {
    std::abort();
  }
  return 0;
}
