#include "server/app.h"

#include <atomic>
#include <filesystem>

#include <fmt/format.h>

#include "core/log.h"
#include "crypto/crypto.h"
#include "domain/validate.h"

namespace vigil::embedded {
extern const std::string_view OpenApiJson;
}  // namespace vigil::embedded

namespace vigil::server {
namespace {

constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

bool SafeMethod(std::string_view m) { return m == "GET" || m == "HEAD" || m == "OPTIONS"; }

// The value of cookie `name`. Errors: kUnauthenticated when it is sent more than once (a cookie
// planted by a sibling domain must not win over the real one).
Result<std::optional<std::string>> CookieValue(const net::HttpRequest& req, std::string_view name) {
  std::optional<std::string> found;
  for (const auto& [k, v] : req.headers) {
    if (k != "cookie") {
      continue;
    }
    std::string_view h = v;
    while (!h.empty()) {
      size_t end = h.find(';');
      std::string_view part = h.substr(0, end);
      while (!part.empty() && part.front() == ' ') {
        part.remove_prefix(1);
      }
      size_t eq = part.find('=');
      if (eq != std::string_view::npos && part.substr(0, eq) == name) {
        if (found) {
          return Unauthenticated("the session cookie was sent more than once");
        }
        found = std::string(part.substr(eq + 1));
      }
      if (end == std::string_view::npos) {
        break;
      }
      h.remove_prefix(end + 1);
    }
  }
  return found;
}

// The credential a request carries for a person: an API token, else the session cookie.
struct Credential {
  enum class Kind { kToken, kSession };
  Kind kind = Kind::kSession;
  std::string secret;
};

// Errors: kUnauthenticated when there is none, or it is malformed.
Result<Credential> CredentialOf(const net::HttpRequest& req) {
  if (auto authz = req.Header("authorization")) {
    std::string_view v = *authz;
    constexpr std::string_view kBearer = "Bearer ";
    if (v.substr(0, kBearer.size()) != kBearer) {
      return Unauthenticated("Authorization must be 'Bearer <API token>'");
    }
    return Credential{Credential::Kind::kToken, std::string(v.substr(kBearer.size()))};
  }
  VIGIL_ASSIGN_OR_RETURN(auto cookie, CookieValue(req, api::kSessionCookieName));
  if (!cookie) {
    return Unauthenticated("sign in first, or send an API token");
  }
  return Credential{Credential::Kind::kSession, std::move(*cookie)};
}

// True when the Origin header `origin` ("https://console.example:8443") names the host[:port] of
// the Host header `host` (compared case-insensitively, a scheme's default port implied). An
// origin that is not http(s) ("null", "file://") or has more than scheme, host and port matches
// nothing.
bool SameOrigin(std::string_view origin, std::optional<std::string_view> host) {
  if (!host || host->empty()) {
    return false;
  }
  std::string o = domain::AsciiLower(origin);
  std::string_view rest = o;
  std::string_view default_port;
  if (rest.substr(0, 8) == "https://") {
    rest.remove_prefix(8);
    default_port = ":443";
  } else if (rest.substr(0, 7) == "http://") {
    rest.remove_prefix(7);
    default_port = ":80";
  } else {
    return false;
  }
  if (rest.empty() || rest.find_first_of("/?#@ \t") != std::string_view::npos) {
    return false;
  }
  std::string h = domain::AsciiLower(*host);
  std::string_view hv = h;
  auto strip = [default_port](std::string_view& v) {
    if (v.size() > default_port.size() &&
        v.substr(v.size() - default_port.size()) == default_port) {
      v.remove_suffix(default_port.size());
    }
  };
  strip(rest);
  strip(hv);
  return rest == hv;
}

}  // namespace

net::HttpResponse ProblemResponse(const Status& status, std::string_view instance,
                                  std::string_view request_id) {
  nlohmann::json body = {
      {"type", fmt::format("https://vigil.dev/problems/{}", ErrorCodeName(status.code()))},
      {"title", ErrorCodeTitle(status.code())},
      {"status", HttpStatusFor(status.code())},
      {"detail", status.message()},
      {"instance", std::string(instance)},
      {"request_id", std::string(request_id)},
  };
  if (!status.field_errors().empty()) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : status.field_errors()) {
      errors.push_back({{"field", e.field}, {"detail", e.detail}});
    }
    body["errors"] = errors;
  }
  net::HttpResponse resp;
  resp.status = HttpStatusFor(status.code());
  resp.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  resp.SetHeader("content-type", "application/problem+json");
  return resp;
}

App::App(AppOptions options, const Clock& clock, std::unique_ptr<storage::Database> db)
    : options_(std::move(options)),
      clock_(clock),
      db_(std::move(db)),
      accounts_(*db_),
      devices_(*db_),
      auth_(accounts_, clock_, options_.auth) {
  db_->SetObserver([this](std::string_view kind, double seconds, bool ok) {
    metrics_.ObserveDb(kind, seconds, ok);
  });
  services_ = std::make_unique<api::Services>(
      api::Services{*db_, accounts_, devices_, hub_, events_, auth_, metrics_, clock_,
                    options_.data_dir, std::string(embedded::OpenApiJson)});
  api::RegisterSystemRoutes(router_, *services_);
  api::RegisterAuthRoutes(router_, *services_);
  api::RegisterAccountsRoutes(router_, *services_);
  api::RegisterDeviceRoutes(router_, *services_);
  api::RegisterAgentRoutes(router_, *services_);
  api::RegisterEventRoutes(router_, *services_);
}

Result<std::unique_ptr<App>> App::Create(AppOptions options, const Clock& clock) {
  VIGIL_RETURN_IF_ERROR(crypto::Init());
  std::string url = options.store_url;
  if (url.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec) {
      return Unavailable(
          fmt::format("cannot create data folder {}: {}", options.data_dir, ec.message()));
    }
    url = "sqlite://" + std::filesystem::absolute(options.data_dir + "/vigil.db").string();
  }
  std::optional<WebAssets> web;
  if (!options.web_root.empty()) {
    VIGIL_ASSIGN_OR_RETURN(web, WebAssets::Load(options.web_root));
  }
  VIGIL_ASSIGN_OR_RETURN(auto db, storage::OpenDatabase(url));
  auto app = std::unique_ptr<App>(new App(std::move(options), clock, std::move(db)));
  app->web_ = std::move(web);
  // No WebSocket survives a restart: presence starts from the last batch of each device.
  VIGIL_RETURN_IF_ERROR(app->devices_.ResetConnections());
  return app;
}

Result<std::optional<std::string>> App::EnsureOwner(const std::string& email,
                                                    const std::string& password) {
  VIGIL_ASSIGN_OR_RETURN(int64_t users, accounts_.CountUsers());
  if (users > 0) {
    return std::optional<std::string>();
  }
  if (auto err = domain::CheckEmail(email)) {
    return InvalidArgument("owner e-mail " + *err);
  }
  std::string pw = password.empty() ? crypto::RandomToken(18) : password;
  if (auto err = domain::CheckPassword(pw)) {
    return InvalidArgument("owner password " + *err);
  }
  VIGIL_ASSIGN_OR_RETURN(std::string hash, auth_.HashPassword(pw));
  domain::User u;
  u.email = email;
  u.name = "Owner";
  u.role = domain::Role::kOwner;
  storage::AuditContext audit;
  audit.actor_type = domain::ActorType::kSystem;
  audit.actor_label = "vigild first start";
  audit.now = clock_.Now();
  VIGIL_RETURN_IF_ERROR(accounts_.CreateUser(u, hash, audit).status());
  if (password.empty()) {
    return std::optional<std::string>(pw);
  }
  return std::optional<std::string>();
}

void App::Decorate(const net::HttpRequest* req, net::HttpResponse& resp) const {
  resp.SetHeader("content-security-policy", kCsp);
  resp.SetHeader("x-content-type-options", "nosniff");
  resp.SetHeader("x-frame-options", "DENY");
  resp.SetHeader("referrer-policy", "no-referrer");
  resp.SetHeader("cross-origin-opener-policy", "same-origin");
  if (!resp.Header("cache-control")) {
    resp.SetHeader("cache-control", "no-store");
  }
  if (req != nullptr && req->tls) {
    resp.SetHeader("strict-transport-security", "max-age=31536000; includeSubDomains");
  }
}

Status App::Authenticate(api::Ctx& ctx) {
  VIGIL_ASSIGN_OR_RETURN(auto credential, CredentialOf(ctx.req));
  if (credential.kind == Credential::Kind::kToken) {
    VIGIL_ASSIGN_OR_RETURN(ctx.principal, auth_.ResolveToken(credential.secret));
    return Status::Ok();
  }
  VIGIL_ASSIGN_OR_RETURN(auto s, auth_.ResolveSession(credential.secret));
  ctx.principal = s.principal;
  ctx.session = s.session_id;
  ctx.csrf_token = s.csrf_token;
  return Status::Ok();
}

net::HttpResponse App::RefuseUpgrade(const api::Ctx& ctx, const Status& st,
                                     std::string_view route_label) {
  metrics_.ObserveRequest("GET", route_label, HttpStatusFor(st.code()), 0);
  net::HttpResponse resp = ProblemResponse(st, ctx.req.path.substr(0, 256), ctx.request_id);
  if (st.code() == ErrorCode::kUnauthenticated) {
    resp.SetHeader("www-authenticate", "Bearer realm=\"vigil\"");
  }
  resp.SetHeader("x-request-id", ctx.request_id);
  return resp;
}

std::variant<net::WebSocketCallbacks, net::HttpResponse> App::Upgrade(const net::HttpRequest& req) {
  api::Ctx ctx{
      req, {}, std::nullopt, std::nullopt, std::nullopt, "", crypto::RandomToken(12), clock_.Now()};
  if (req.path == api::kAgentWsPath) {
    return UpgradeAgent(ctx);
  }
  if (req.path == api::kEventsPath) {
    return UpgradeEvents(ctx);
  }
  return RefuseUpgrade(ctx, NotFound("no WebSocket endpoint here"), "(unmatched)");
}

std::variant<net::WebSocketCallbacks, net::HttpResponse> App::UpgradeAgent(api::Ctx& ctx) {
  if (Status st = AuthenticateDevice(ctx); !st.ok()) {
    return RefuseUpgrade(ctx, st, api::kAgentWsPath);
  }
  DeviceId device = ctx.device->id;
  ClientId client = ctx.device->client_id;
  auto ticket = std::make_shared<std::atomic<uint64_t>>(0);
  net::WebSocketCallbacks cb;
  cb.on_open = [this, device, client,
                ticket](const std::shared_ptr<net::WebSocketConnection>& conn) {
    // The hub holds the connection object itself: nothing else does once on_open has returned
    // (holding it does not keep the connection open; it is dropped at Unregister).
    ticket->store(hub_.Register(
        device, [conn](std::string text) { conn->Send(std::move(text)); },
        [conn] { conn->Close(); }));
    Status s = devices_.SetConnected(device, true, clock_.Now());
    metrics_.Increment("agent_websocket_connects_total");
    VIGIL_LOG(info, "device online",
              {{"device_id", IdToString(device)}, {"ok", s.ok() ? "1" : "0"}});
    // What a reload would show: only a stored change is announced.
    if (s.ok()) {
      events_.Publish(client, PresenceEventJson(device, client, Presence::kOnline));
    }
  };
  cb.on_close = [this, device, client, ticket] {
    // A device that reconnected already holds a newer ticket: it stays online.
    if (hub_.Unregister(device, ticket->load())) {
      Status s = devices_.SetConnected(device, false, clock_.Now());
      VIGIL_LOG(info, "device offline",
                {{"device_id", IdToString(device)}, {"ok", s.ok() ? "1" : "0"}});
      if (s.ok()) {
        events_.Publish(client, PresenceEventJson(device, client, Presence::kOffline));
      }
    }
  };
  return cb;
}

std::variant<net::WebSocketCallbacks, net::HttpResponse> App::UpgradeEvents(api::Ctx& ctx) {
  const char* route = api::kEventsPath;
  // Browsers always send Origin on a WebSocket handshake; a page of another site must not ride
  // on the console's cookie. Scripts send none.
  if (auto origin = ctx.req.Header("origin");
      origin && !SameOrigin(*origin, ctx.req.Header("host"))) {
    return RefuseUpgrade(
        ctx, PermissionDenied("the Origin header names another site than the Host header"), route);
  }
  auto credential = CredentialOf(ctx.req);
  Status st = credential ? Authenticate(ctx) : credential.status();
  if (st.ok()) {
    st = CheckMfaPolicy(*ctx.principal);
  }
  if (st.ok() && !ctx.principal->is_staff() && !ctx.principal->client_id) {
    // Cannot happen (a client role has a client), but an empty scope must not mean "every client".
    st = PermissionDenied("this account belongs to no client");
  }
  if (!st.ok()) {
    return RefuseUpgrade(ctx, st, route);
  }
  const domain::Principal& who = *ctx.principal;
  EventHub::Subscriber sub{who.ClientScope(), who.user_id, ctx.session, who.token_id};

  // Every message from the peer re-checks the credential without counting as use, and the caller
  // must still be the same user with the same scope (a changed role or client reconnects).
  auto recheck = [this, credential = std::move(*credential), sub]() -> Status {
    domain::Principal p;
    if (credential.kind == Credential::Kind::kToken) {
      VIGIL_ASSIGN_OR_RETURN(p,
                             auth_.ResolveToken(credential.secret, AuthService::Use::kCheckOnly));
    } else {
      VIGIL_ASSIGN_OR_RETURN(auto s,
                             auth_.ResolveSession(credential.secret, AuthService::Use::kCheckOnly));
      p = s.principal;
    }
    if (p.user_id != sub.user || p.ClientScope() != sub.scope) {
      return PermissionDenied("the account's role or client changed; connect again");
    }
    return CheckMfaPolicy(p);
  };

  // The callbacks of one connection run one at a time, in order (net/http.h): no lock needed.
  // Holding the connection object does not keep the connection open; nothing else holds it once
  // on_open has returned.
  struct Stream {
    std::shared_ptr<net::WebSocketConnection> conn;
    uint64_t ticket = 0;
    bool closing = false;
  };
  auto stream = std::make_shared<Stream>();
  net::WebSocketCallbacks cb;
  cb.on_open = [this, stream, sub](const std::shared_ptr<net::WebSocketConnection>& conn) {
    metrics_.Increment("events_websocket_connects_total");
    stream->conn = conn;
    // Queued before registering, so it precedes every event.
    conn->Send(HelloEventJson(clock_.Now()));
    stream->ticket = events_.Register(
        sub, [conn](std::string text) { conn->Send(std::move(text)); }, [conn] { conn->Close(); });
  };
  // The message itself is never looked at: any content only triggers the re-check.
  cb.on_message = [this, stream, recheck = std::move(recheck), user = sub.user](std::string_view) {
    const auto& conn = stream->conn;
    if (!conn || stream->closing) {
      return;
    }
    Status s = recheck();
    if (!s.ok()) {
      stream->closing = true;
      metrics_.Increment("events_websocket_revoked_total");
      VIGIL_LOG(info, "event stream closed", {{"user_id", IdToString(user)}, {"why", s.message()}});
      conn->Close();
      return;
    }
    conn->Send(PongEventJson());
  };
  cb.on_close = [this, stream] {
    events_.Unregister(stream->ticket);
    stream->conn.reset();
  };
  return cb;
}

Result<std::string> App::IssueLocalEnrollmentToken() {
  constexpr std::string_view kInternal = "Internal IT";
  storage::AuditContext audit;
  audit.actor_type = domain::ActorType::kSystem;
  audit.actor_label = "vigild --local-agent-token";
  audit.now = clock_.Now();
  storage::ListQuery q;
  q.search = std::string(kInternal);
  VIGIL_ASSIGN_OR_RETURN(auto page, accounts_.ListClients(q, std::nullopt));
  std::optional<ClientId> client;
  for (const auto& c : page.items) {
    if (c.name == kInternal) {
      client = c.id;
    }
  }
  if (!client) {
    domain::Client c;
    c.name = std::string(kInternal);
    c.notes = "The provider's own machines.";
    VIGIL_ASSIGN_OR_RETURN(auto created, accounts_.CreateClient(c, audit));
    client = created.id;
  }
  domain::EnrollmentToken t;
  t.client_id = *client;
  t.kind = "server";
  t.label = "local agent";
  t.max_uses = 1;
  t.expires_at = audit.now + std::chrono::hours(1);
  std::string secret = "vge_" + crypto::RandomToken(32);
  t.prefix = secret.substr(0, 10);
  VIGIL_RETURN_IF_ERROR(
      devices_.CreateEnrollmentToken(t, crypto::Sha256Hex(secret), std::nullopt, audit).status());
  return secret;
}

Result<storage::MaintenanceReport> App::RunMaintenance() {
  return devices_.RollUpAndPrune(clock_.Now(), options_.retention);
}

Status App::AuthenticateDevice(api::Ctx& ctx) {
  auto authz = ctx.req.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!authz || authz->substr(0, kBearer.size()) != kBearer) {
    return Unauthenticated("Authorization must be 'Bearer <device credential>'");
  }
  VIGIL_ASSIGN_OR_RETURN(
      ctx.device,
      devices_.Authenticate(crypto::Sha256Hex(std::string(authz->substr(kBearer.size())))));
  return Status::Ok();
}

Status App::CheckMfaPolicy(const domain::Principal& who) {
  if (!who.is_staff() || who.totp_enabled) {
    return Status::Ok();
  }
  VIGIL_ASSIGN_OR_RETURN(bool required, auth_.MfaRequiredForStaff());
  if (required) {
    return PermissionDenied(
        "two-factor authentication is required: enrol at /api/v1/auth/totp/setup");
  }
  return Status::Ok();
}

Result<api::Reply> App::Dispatch(api::Ctx& ctx, const api::Route& route) {
  if (route.device_only) {
    VIGIL_RETURN_IF_ERROR(AuthenticateDevice(ctx));
  } else if (!route.is_public) {
    VIGIL_RETURN_IF_ERROR(Authenticate(ctx));
    const auto& who = *ctx.principal;
    if (!route.roles.Contains(who.role)) {
      return PermissionDenied(fmt::format("your role ({}) may not {} {}",
                                          domain::RoleName(who.role), route.method, route.pattern));
    }
    if (route.session_only && who.method != domain::AuthMethod::kSession) {
      return PermissionDenied("sign in with your password for this; API tokens may not do it");
    }
    if (who.method == domain::AuthMethod::kApiToken && who.scope == domain::TokenScope::kRead &&
        !SafeMethod(ctx.req.method)) {
      return PermissionDenied("this API token is read-only");
    }
    if (who.method == domain::AuthMethod::kSession && !SafeMethod(ctx.req.method)) {
      auto sent = ctx.req.Header(api::kCsrfHeader);
      if (!sent || !crypto::ConstantTimeEquals(*sent, ctx.csrf_token)) {
        return PermissionDenied("missing or wrong X-CSRF-Token header");
      }
    }
    if (!route.allowed_before_mfa) {
      VIGIL_RETURN_IF_ERROR(CheckMfaPolicy(who));
    }
  }
  try {
    return route.handler(ctx);
  } catch (const std::exception& e) {
    VIGIL_LOG(err, "handler threw", {{"request_id", ctx.request_id}, {"what", e.what()}});
    return Internal("unexpected error; the request id is in the server log");
  }
}

net::HttpResponse App::Handle(const net::HttpRequest& req) {
  auto start = std::chrono::steady_clock::now();
  // The request id is always ours: one sent by a client could collide with another's on purpose.
  api::Ctx ctx{
      req, {}, std::nullopt, std::nullopt, std::nullopt, "", crypto::RandomToken(12), clock_.Now()};
  std::string route_label = "(unmatched)";
  net::HttpResponse resp;

  auto m = router_.Find(req.method, req.path);
  // Outside /api/, a GET or HEAD that no route takes may be for the web console's files.
  std::optional<net::HttpResponse> file;
  if (web_ && m.route == nullptr && !m.method_mismatch &&
      (req.method == "GET" || req.method == "HEAD") && req.path.rfind("/api/", 0) != 0) {
    file = web_->Serve(req);
  }
  Result<api::Reply> result = NotFound("no such resource");
  if (file) {
    route_label = "(web)";
  } else if (m.route == nullptr && m.method_mismatch) {
    result = Status(ErrorCode::kMethodNotAllowed,
                    fmt::format("{} is not allowed here", req.method.substr(0, 16)));
  } else if (m.route != nullptr) {
    route_label = m.route->pattern;
    ctx.params = std::move(m.params);
    size_t limit = m.route->max_body_bytes ? m.route->max_body_bytes : options_.max_body_bytes;
    if (req.body.size() > limit) {
      result = PayloadTooLarge("body too large");
    } else {
      result = Dispatch(ctx, *m.route);
    }
  }

  if (file) {
    resp = std::move(*file);
  } else if (result) {
    resp.status = result->status;
    if (result->body.is_string()) {
      resp.body = result->body.get<std::string>();
    } else if (!result->body.is_null()) {
      resp.body = result->body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      resp.SetHeader("content-type", "application/json");
    }
    for (auto& [k, v] : result->headers) {
      if (k == "set-cookie") {
        resp.headers.emplace_back(k, v);
      } else {
        resp.SetHeader(k, v);
      }
    }
  } else {
    resp = ProblemResponse(result.error(), req.path.substr(0, 256), ctx.request_id);
    if (result.error().code() == ErrorCode::kUnauthenticated) {
      resp.SetHeader("www-authenticate", "Bearer realm=\"vigil\"");
    }
    if (auto retry = result.error().retry_after_seconds()) {
      resp.SetHeader("retry-after", std::to_string(*retry));
    }
  }
  resp.SetHeader("x-request-id", ctx.request_id);

  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.ObserveRequest(req.method.size() <= 8 ? req.method : "OTHER", route_label, resp.status,
                          seconds);
  if (resp.status >= 500) {
    VIGIL_LOG(err, "request failed",
              {{"request_id", ctx.request_id}, {"route", route_label}, {"method", req.method}});
  } else {
    spdlog::level::level_enum lvl = spdlog::level::debug;
    if (spdlog::default_logger_raw()->should_log(lvl)) {
      log::Write(lvl, "request",
                 {{"request_id", ctx.request_id},
                  {"method", req.method},
                  {"route", route_label},
                  {"status", std::to_string(resp.status)}});
    }
  }
  return resp;
}

}  // namespace vigil::server
