#pragma once

// App: one vigild's wiring — store, repositories, auth, metrics, the route table — and the request
// pipeline every API call goes through:
//   request id → route match (404/405) → authentication (Bearer token or session cookie) →
//   role check (403) → token scope (read tokens: GET only) → CSRF for cookie sessions on
//   state-changing methods → the owner's two-factor policy → handler → problem+json on failure →
//   security headers, metrics, one log line.
// App::Handle is what the HTTP server calls; tests call it directly too. App::Upgrade takes the
// WebSocket upgrades: vigil-agent's presence socket and the people's live event stream.
//
// Thread safety: Handle may be called from many threads at once.

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "core/clock.h"
#include "core/status.h"
#include "net/http.h"
#include "server/api/router.h"
#include "server/api/services.h"
#include "server/auth/auth_service.h"
#include "server/device_hub.h"
#include "server/event_hub.h"
#include "server/metrics.h"
#include "server/web_assets.h"
#include "storage/accounts_repo.h"
#include "storage/database.h"
#include "storage/devices_repo.h"

namespace vigil::server {

struct AppOptions {
  std::string store_url;  // "" → sqlite under data_dir
  std::string data_dir = ".vigil";
  AuthOptions auth;
  size_t max_body_bytes = 1 << 20;  // routes may allow more (agent batches: 4 MiB)
  storage::RetentionPolicy retention;
  // The web console's files (Vite's build output, web/dist); "" serves none.
  std::string web_root;
};

class App {
 public:
  // Opens the store (applying migrations) and builds the route table.
  // Errors: those of storage::OpenDatabase.
  static Result<std::unique_ptr<App>> Create(AppOptions options, const Clock& clock);

  net::HttpResponse Handle(const net::HttpRequest& req);
  // What the HTTP server calls for a WebSocket upgrade. Two endpoints, anything else is 404:
  // - GET /api/v1/agent/ws with a valid device credential: the device is online while it stays
  //   open, and the event stream hears "presence" when it opens and closes.
  // - GET /api/v1/events, the live event stream (docs/api.md, "Live events"): a session cookie or
  //   an API token of any role, the owner's two-factor policy as for the API (403), and 403 when
  //   an Origin header names another host than Host (cross-site WebSocket hijacking). It sends
  //   "hello", then the events of the clients the caller may see; every message from the peer
  //   re-checks the credential (without extending the session) and is answered "pong", or ends
  //   the connection when the credential is no longer valid or the caller's scope changed.
  // Refusals are problem+json responses (401 with WWW-Authenticate), counted in the metrics.
  std::variant<net::WebSocketCallbacks, net::HttpResponse> Upgrade(const net::HttpRequest& req);
  // Security headers and the request id; also applied to responses the HTTP server makes itself.
  void Decorate(const net::HttpRequest* req, net::HttpResponse& resp) const;

  // Creates the first owner when the store has no user yet. Returns the password when one was
  // generated (to print once), nullopt when an owner already existed or `password` was given.
  Result<std::optional<std::string>> EnsureOwner(const std::string& email,
                                                 const std::string& password);

  // Rolls up and prunes check history (storage::DevicesRepo::RollUpAndPrune); vigild calls it
  // every few minutes.
  Result<storage::MaintenanceReport> RunMaintenance();

  // A one-use enrollment token (valid one hour) for an agent on vigild's own machine, for the
  // client "Internal IT" (created when missing): how the README's first command watches the
  // machine it runs on.
  Result<std::string> IssueLocalEnrollmentToken();

  const api::Router& router() const { return router_; }
  storage::Database& db() { return *db_; }
  storage::AccountsRepo& accounts() { return accounts_; }
  storage::DevicesRepo& devices() { return devices_; }
  DeviceHub& hub() { return hub_; }
  EventHub& events() { return events_; }
  AuthService& auth() { return auth_; }
  Metrics& metrics() { return metrics_; }

 private:
  App(AppOptions options, const Clock& clock, std::unique_ptr<storage::Database> db);
  Result<api::Reply> Dispatch(api::Ctx& ctx, const api::Route& route);
  Status Authenticate(api::Ctx& ctx);
  Status AuthenticateDevice(api::Ctx& ctx);
  // The owner's "two-factor required for staff" policy. Errors: kPermissionDenied.
  Status CheckMfaPolicy(const domain::Principal& who);
  std::variant<net::WebSocketCallbacks, net::HttpResponse> UpgradeAgent(api::Ctx& ctx);
  std::variant<net::WebSocketCallbacks, net::HttpResponse> UpgradeEvents(api::Ctx& ctx);
  // A refused upgrade: problem+json, counted under `route_label`.
  net::HttpResponse RefuseUpgrade(const api::Ctx& ctx, const Status& st,
                                  std::string_view route_label);

  AppOptions options_;
  const Clock& clock_;
  std::unique_ptr<storage::Database> db_;
  storage::AccountsRepo accounts_;
  storage::DevicesRepo devices_;
  DeviceHub hub_;
  EventHub events_;
  AuthService auth_;
  Metrics metrics_;
  std::unique_ptr<api::Services> services_;
  api::Router router_;
  std::optional<WebAssets> web_;  // options_.web_root's files
};

// Renders a failed Status as an RFC 9457 problem+json response.
net::HttpResponse ProblemResponse(const Status& status, std::string_view instance,
                                  std::string_view request_id);

}  // namespace vigil::server
