#pragma once

// Router: the table of API routes. Each route declares its method, path pattern, the roles that
// may call it (or that it is public) and its handler. The table is the single source for
// dispatch, for the OpenAPI conformance test and for the role × tenant test: a route added here
// without an entry in those tests makes them fail.
//
// Patterns: literal segments and "{name}" segments ("/api/v1/clients/{id}/sites").
// Thread safety: built once at start-up, then read-only.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "domain/devices.h"
#include "domain/roles.h"
#include "net/http.h"

namespace vigil::server::api {

inline constexpr const char* kSessionCookieName = "vigil_session";
inline constexpr const char* kCsrfHeader = "x-csrf-token";
// The WebSocket endpoints App::Upgrade accepts (their plain GETs are routes answering 400).
inline constexpr const char* kAgentWsPath = "/api/v1/agent/ws";
inline constexpr const char* kEventsPath = "/api/v1/events";

// Everything a handler knows about the request it serves.
struct Ctx {
  const net::HttpRequest& req;
  std::map<std::string, std::string, std::less<>> params;  // from the pattern
  std::optional<domain::Principal> principal;              // set on every staff/client route
  std::optional<domain::Device> device;                    // set on every device route
  std::optional<SessionId> session;                        // when signed in with a cookie
  std::string csrf_token;                                  // the session's, when signed in
  std::string request_id;
  TimePoint now;

  const domain::Principal& who() const { return *principal; }
  // A positive integer path parameter. Errors: kNotFound for anything else (an id that cannot
  // exist is simply not found).
  Result<int64_t> IdParam(std::string_view name) const;
  // Decoded query parameters (last one wins).
  std::optional<std::string> Query(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& QueryPairs() const;

  mutable std::optional<std::vector<std::pair<std::string, std::string>>> query_cache;
};

// What a handler returns on success.
struct Reply {
  int status = 200;
  nlohmann::json body;  // null → empty body (204)
  net::Headers headers;
};

using RouteHandler = std::function<Result<Reply>(Ctx&)>;

struct Route {
  std::string method;
  std::string pattern;
  domain::RoleSet roles;  // who may call it (ignored when is_public)
  bool is_public = false;
  // Reachable by a staff user who must still enrol TOTP (owner policy); sign-out, "me" and TOTP
  // enrolment only.
  bool allowed_before_mfa = false;
  RouteHandler handler;
  // Only for a person signed in with a session: API tokens are refused (403), so a leaked token
  // cannot change the password or take over the second factor.
  bool session_only = false;
  // Only for vigil-agent with its device credential (Bearer vgd_...); `roles` is empty then.
  bool device_only = false;
  // Largest body accepted (0: AppOptions::max_body_bytes).
  size_t max_body_bytes = 0;
};

class Router {
 public:
  void Add(Route route);

  struct Match {
    const Route* route = nullptr;
    std::map<std::string, std::string, std::less<>> params;
    bool method_mismatch = false;  // the path exists with another method
  };
  Match Find(std::string_view method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace vigil::server::api
