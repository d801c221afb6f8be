// vigil login, logout, whoami, health.

#include <unistd.h>

#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/terminal.h"

namespace vigil::cli {
namespace {

constexpr const char* kSessionCookie = "vigil_session";

std::string Hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') {
    return "unknown host";
  }
  return SanitizeLine(buf, 64);
}

// The first 12 characters of a secret: what the server shows as the token's prefix.
std::string TokenPrefix(const std::string& secret) { return secret.substr(0, 12); }

bool ProblemNamesField(const Json& problem, std::string_view field) {
  const Json* errors = Lookup(problem, "errors");
  if (errors == nullptr || !errors->is_array()) {
    return false;
  }
  for (const Json& e : *errors) {
    if (StringOf(e, "field") == field) {
      return true;
    }
  }
  return false;
}

// Finds the id of the caller's own, unrevoked token whose secret is `secret`.
// Errors: kNotFound when no listed token has its prefix; those of ApiClient::Call.
Result<int64_t> FindOwnTokenId(ApiClient& api, int64_t user_id, const std::string& secret) {
  const std::string prefix = TokenPrefix(secret);
  constexpr int64_t kPage = 200;
  for (int64_t offset = 0; offset < 100'000; offset += kPage) {
    QueryString qs;
    qs.Add("user_id", user_id).Add("revoked", "false").Add("limit", kPage).Add("offset", offset);
    VIGIL_ASSIGN_OR_RETURN(Json page, api.Get("/api/v1/tokens" + qs.str()));
    const Json* items = Lookup(page, "items");
    if (items == nullptr || !items->is_array()) {
      return Internal("the server sent an invalid response");
    }
    for (const Json& t : *items) {
      const Json* id = Lookup(t, "id");
      if (StringOf(t, "prefix") == prefix && id != nullptr && id->is_number_integer()) {
        return id->get<int64_t>();
      }
    }
    if (static_cast<int64_t>(items->size()) < kPage) {
      break;
    }
  }
  return NotFound("the server lists no active token with prefix " + prefix);
}

// ---- login

struct LoginFlags {
  std::string email;
  bool password_stdin = false;
  std::string totp;
};

Result<std::string> ReadPassword(const LoginFlags& f) {
  if (f.password_stdin) {
    return ReadSecretFromStdin();
  }
  if (const char* env = std::getenv("VIGIL_PASSWORD"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  if (!HaveTerminal()) {
    return InvalidArgument(
        "no password given: use --password-stdin or VIGIL_PASSWORD when there is no terminal");
  }
  return PromptSecret("Password for " + SanitizeLine(f.email, 254) + ": ");
}

Status Login(Context& ctx, const LoginFlags& f) {
  VIGIL_ASSIGN_OR_RETURN(Config config, ctx.ResolvedConfig());
  if (config.server.empty()) {
    return InvalidArgument("--server URL is required: the address of vigild");
  }
  VIGIL_ASSIGN_OR_RETURN(std::string password, ReadPassword(f));
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.ApiWithoutCredentials(config.server));

  Json body = {{"email", f.email}, {"password", password}};
  if (!f.totp.empty()) {
    body["totp_code"] = f.totp;
  }
  auto session = api->Post("/api/v1/auth/login", body);
  if (!session && session.error().code() == ErrorCode::kUnauthenticated && f.totp.empty() &&
      ProblemNamesField(api->last_problem(), "totp_code")) {
    // Two-step sign-in: the password was right and the account has two-factor authentication.
    if (f.password_stdin || !HaveTerminal()) {
      return Unauthenticated("this account uses two-factor authentication: add --totp CODE");
    }
    VIGIL_ASSIGN_OR_RETURN(std::string code, PromptLine("Two-factor code: "));
    body["totp_code"] = code;
    session = api->Post("/api/v1/auth/login", body);
  }
  if (!session) {
    return session.error();
  }
  const std::string cookie = FindSetCookie(api->last_headers(), kSessionCookie);
  const std::string csrf = StringOf(*session, "csrf_token");
  const Json* user_id = Lookup(*session, "user.id");
  if (cookie.empty() || csrf.empty() || user_id == nullptr || !user_id->is_number_integer()) {
    return Internal("the server sent an invalid response (no session)");
  }
  const std::string role = StringOf(*session, "user.role");

  // Trade the session for an API token, then end the session either way.
  api->SetSession(cookie, csrf);
  const std::string token_name = "vigil CLI on " + Hostname();
  auto token = api->Post("/api/v1/tokens", {{"name", token_name}, {"scope", "write"}});
  const Json token_problem = api->last_problem();
  Status signed_out = api->Call("POST", "/api/v1/auth/logout").status();
  api->SetSession("", "");
  if (!token) {
    ctx.KeepProblem(token_problem);
    return Status(token.error().code(), "cannot create an API token: " + token.error().message());
  }
  const std::string secret = StringOf(*token, "secret");
  if (secret.size() < 12) {
    return Internal("the server sent an invalid response (no token secret)");
  }

  // Save server + token; when that fails, revoke the token so it does not linger unused.
  VIGIL_ASSIGN_OR_RETURN(std::string path, ctx.ConfigFilePath());
  auto file = ctx.ConfigFile();
  Json doc = file ? *file : Json::object();
  const std::string old_token =
      StringOf(doc, "server") == api->server() ? StringOf(doc, "token") : std::string();
  doc["server"] = api->server();
  doc["token"] = secret;
  Status saved = file ? WriteConfigFile(path, doc) : file.error();
  if (!saved.ok()) {
    api->SetToken(secret);
    const Json* id = Lookup(*token, "id");
    if (id != nullptr && id->is_number_integer()) {
      (void)api->Delete("/api/v1/tokens/" + std::to_string(id->get<int64_t>()));
    }
    return saved;
  }

  if (ctx.json()) {
    ctx.PrintJson({{"server", api->server()},
                   {"config", path},
                   {"user", Lookup(*session, "user") ? *Lookup(*session, "user") : Json()},
                   {"token", Json{{"id", Lookup(*token, "id") ? *Lookup(*token, "id") : Json()},
                                  {"name", token_name},
                                  {"prefix", TokenPrefix(secret)}}}});
  } else {
    ctx.Print(fmt::format("Signed in to {} as {} ({}).\nSaved API token \"{}\" ({}...) to {}.\n",
                          api->server(), SanitizeLine(f.email, 254), SanitizeLine(role, 40),
                          token_name, TokenPrefix(secret), path));
  }
  if (!old_token.empty() && old_token != secret) {
    ctx.Note(fmt::format(
        "The token it replaces ({}...) is still valid; revoke it with `vigil tokens revoke ID` "
        "(see `vigil tokens list`).",
        SanitizeLine(TokenPrefix(old_token), 12)));
  }
  if (!signed_out.ok()) {
    ctx.Note("Note: signing out of the temporary session failed: " + signed_out.message());
  }
  if (BoolOf(*session, "mfa_enrollment_required")) {
    ctx.Note("Two-factor authentication is required for staff: enrol in the web interface.");
  }
  return Status::Ok();
}

// ---- logout

Status Logout(Context& ctx) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_ASSIGN_OR_RETURN(Config config, ctx.ResolvedConfig());
  const std::string prefix = SanitizeLine(TokenPrefix(config.token), 12);

  bool already_invalid = false;
  auto me = api->Get("/api/v1/auth/me");
  if (!me) {
    if (me.error().code() != ErrorCode::kUnauthenticated) {
      return me.error();
    }
    already_invalid = true;  // revoked or expired: nothing to revoke, just forget it
  } else {
    const Json* user_id = Lookup(*me, "user.id");
    if (user_id == nullptr || !user_id->is_number_integer()) {
      return Internal("the server sent an invalid response");
    }
    VIGIL_ASSIGN_OR_RETURN(int64_t token_id,
                           FindOwnTokenId(*api, user_id->get<int64_t>(), config.token));
    VIGIL_RETURN_IF_ERROR(api->Delete("/api/v1/tokens/" + std::to_string(token_id)).status());
  }

  VIGIL_ASSIGN_OR_RETURN(std::string path, ctx.ConfigFilePath());
  VIGIL_ASSIGN_OR_RETURN(Json doc, ctx.ConfigFile());
  const bool in_file = StringOf(doc, "token") == config.token;
  if (in_file) {
    doc.erase("token");
    VIGIL_RETURN_IF_ERROR(WriteConfigFile(path, doc));
  }
  if (ctx.json()) {
    ctx.PrintJson({{"revoked", !already_invalid},
                   {"prefix", TokenPrefix(config.token)},
                   {"removed_from", in_file ? Json(path) : Json()}});
    return Status::Ok();
  }
  std::string what =
      already_invalid
          ? fmt::format("The token {}... was already invalid (revoked or expired)", prefix)
          : fmt::format("Revoked the API token {}...", prefix);
  ctx.Print(what + (in_file ? fmt::format(" and removed it from {}.\n", path) : ".\n"));
  return Status::Ok();
}

// ---- whoami, health

Status Whoami(Context& ctx) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_ASSIGN_OR_RETURN(Json me, api->Get("/api/v1/auth/me"));
  if (ctx.json()) {
    ctx.PrintJson(me);
    return Status::Ok();
  }
  const Json* user = Lookup(me, "user");
  if (user == nullptr || !user->is_object()) {
    return Internal("the server sent an invalid response");
  }
  Json flat = Json::object();
  flat["server"] = api->server();
  for (const char* key :
       {"id", "email", "name", "role", "client_id", "totp_enabled", "last_login_at"}) {
    if (const Json* v = Lookup(*user, key)) {
      flat[key] = *v;
    }
  }
  for (const char* key : {"auth_method", "token_scope", "recovery_codes_left"}) {
    if (const Json* v = Lookup(me, key)) {
      flat[key] = *v;
    }
  }
  ctx.Print(RenderKeyValues(
      flat, {"server", "id", "email", "name", "role", "client_id", "auth_method", "token_scope"}));
  return Status::Ok();
}

Status Health(Context& ctx) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api(/*need_token=*/false));
  VIGIL_ASSIGN_OR_RETURN(Json health, api->Get("/healthz"));
  if (ctx.json()) {
    ctx.PrintJson(health);
    return Status::Ok();
  }
  if (!health.is_object()) {
    return Internal("the server sent an invalid response");
  }
  Json flat = health;
  flat["server"] = api->server();
  ctx.Print(RenderKeyValues(flat, {"server", "status", "version"}));
  return Status::Ok();
}

}  // namespace

void AddSessionCommands(CLI::App& app, Registry& reg, GlobalFlags& global) {
  auto login = std::make_shared<LoginFlags>();
  CLI::App* cmd = reg.Add(
      app, "login",
      "Sign in with e-mail and password, create an API token for this CLI and save it with the "
      "server URL in the config file",
      [login](Context& ctx) { return Login(ctx, *login); });
  cmd->add_option("--server", global.server, "address of vigild, e.g. https://vigil.example.com");
  cmd->add_option("--email", login->email, "your e-mail address")->required();
  cmd->add_flag("--password-stdin", login->password_stdin,
                "read the password from stdin (else VIGIL_PASSWORD, else a prompt)");
  cmd->add_option("--totp", login->totp, "two-factor code, when the account uses one");

  reg.Add(app, "logout", "Revoke the configured API token and remove it from the config file",
          [](Context& ctx) { return Logout(ctx); });
  reg.Add(app, "whoami", "Show who the configured token belongs to",
          [](Context& ctx) { return Whoami(ctx); });
  reg.Add(app, "health", "Check that the server and its database answer (GET /healthz)",
          [](Context& ctx) { return Health(ctx); });
}

}  // namespace vigil::cli
