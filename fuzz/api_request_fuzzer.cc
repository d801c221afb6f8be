// Fuzzes vigild's whole request pipeline with hostile requests: the first byte picks a route,
// the rest is split into query string and body. The App runs on a temporary SQLite store and the
// caller is the owner (the most powerful role, so every handler is reached). Every response must
// be well-formed: a status in 200..599 and, for errors, a problem+json body.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>

#include "core/clock.h"
#include "testing/owner_app.h"

namespace {

struct World {
  vigil::FakeClock clock{vigil::FromUnixMillis(1'795'000'000'000)};
  vigil::testing::OwnerApp owner{"fuzz", clock};

  World() {
    // Something to find and change.
    owner.Handle(owner.Request("POST", "/api/v1/clients", R"({"name":"Seed"})"));
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
  // "query\nbody": GET routes read the query, others the body.
  auto nl = rest.find('\n');
  std::string query = nl == std::string::npos ? "" : rest.substr(0, nl);
  std::string body = nl == std::string::npos ? rest : rest.substr(nl + 1);
  vigil::net::HttpRequest req = w->owner.Request(t[0], std::string(t[1]), std::move(body));
  req.query = std::move(query);  // raw, even with characters a target could not carry
  req.target = req.path + "?" + req.query;
  w->clock.Advance(std::chrono::milliseconds(1));
  vigil::net::HttpResponse resp = w->owner.Handle(req);
  if (resp.status < 200 || resp.status > 599) {
    std::abort();
  }
  if (resp.status >= 400 && resp.Header("content-type") != "application/problem+json") {
    std::abort();
  }
  return 0;
}
