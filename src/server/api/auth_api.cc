// Routes for signing in and out, the caller's own account, password changes and TOTP enrolment.

#include <fmt/format.h>

#include "domain/accounts_json.h"
#include "server/api/services.h"

namespace vigil::server::api {
namespace {

using domain::RoleSet;
using nlohmann::json;
using vigil::json::ObjectReader;

std::string SessionCookie(const std::string& value, int64_t max_age_seconds, bool secure) {
  return fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}", kSessionCookieName,
                     value, max_age_seconds, secure ? "; Secure" : "");
}

}  // namespace

void RegisterAuthRoutes(Router& router, Services& s) {
  const RoleSet all = RoleSet::All();

  router.Add({"POST", "/api/v1/auth/login", {}, true, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
                ObjectReader r(body);
                LoginRequest req;
                req.email = r.String("email", 1, 254);
                req.password = r.String("password", 1, 1024);
                req.totp_code = r.OptString("totp_code", 6, 8);
                req.recovery_code = r.OptString("recovery_code", 8, 20);
                VIGIL_RETURN_IF_ERROR(r.Finish());
                req.remote_address = ctx.req.remote_address;
                req.request_id = ctx.request_id;
                VIGIL_ASSIGN_OR_RETURN(auto res, s.auth.Login(req));
                Reply reply = Ok(json{{"user", domain::ToJson(res.user)},
                                      {"csrf_token", res.csrf_token},
                                      {"expires_at", FormatRfc3339(res.expires_at)},
                                      {"mfa_enrollment_required", res.mfa_enrollment_required}});
                // The cookie lives as long as a session can; the server enforces the idle limit.
                auto max_age = std::chrono::duration_cast<std::chrono::seconds>(
                    s.auth.options().absolute_timeout);
                reply.headers.emplace_back(
                    "set-cookie", SessionCookie(res.session_token, max_age.count(), ctx.req.tls));
                return reply;
              }});

  router.Add({"POST", "/api/v1/auth/logout", all, false, true, [&s](Ctx& ctx) -> Result<Reply> {
                if (ctx.session) {
                  VIGIL_RETURN_IF_ERROR(s.auth.Logout(*ctx.session));
                  s.events.CloseSession(*ctx.session);
                }
                Reply reply = NoContent();
                reply.headers.emplace_back("set-cookie", SessionCookie("", 0, ctx.req.tls));
                return reply;
              }});

  router.Add({"GET", "/api/v1/auth/me", all, false, true, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(auto u, s.accounts.GetUser(ctx.who().user_id, std::nullopt));
                json out = {{"user", domain::ToJson(u)},
                            {"auth_method", ctx.session ? "session" : "token"},
                            {"mfa_enrollment_required", false}};
                if (ctx.principal->method == domain::AuthMethod::kApiToken) {
                  out["token_scope"] = domain::TokenScopeName(ctx.who().scope);
                }
                if (domain::IsStaffRole(u.role) && !u.totp_enabled) {
                  VIGIL_ASSIGN_OR_RETURN(bool req, s.auth.MfaRequiredForStaff());
                  out["mfa_enrollment_required"] = req;
                }
                VIGIL_ASSIGN_OR_RETURN(int64_t left,
                                       s.accounts.CountUnusedRecoveryCodes(ctx.who().user_id));
                out["recovery_codes_left"] = left;
                if (!ctx.csrf_token.empty()) {
                  out["csrf_token"] = ctx.csrf_token;
                }
                return Ok(out);
              }});

  router.Add({"POST", "/api/v1/auth/password", all, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
                ObjectReader r(body);
                std::string current = r.String("current_password", 1, 1024);
                std::string next = r.String("new_password", 1, 1024);
                VIGIL_RETURN_IF_ERROR(r.Finish());
                VIGIL_RETURN_IF_ERROR(
                    s.auth.ChangePassword(ctx.who(), ctx.session, current, next, AuditFor(ctx)));
                // The user's other sessions ended; so do their event streams.
                s.events.CloseUserSessions(ctx.who().user_id, ctx.session);
                return NoContent();
              },
              /*session_only=*/true});

  router.Add({"POST", "/api/v1/auth/totp/setup", all, false, true,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(auto setup, s.auth.BeginTotp(ctx.who()));
                return Ok(json{{"secret", setup.secret_base32},
                               {"otpauth_uri", setup.otpauth_uri},
                               {"algorithm", "SHA1"},
                               {"digits", 6},
                               {"period", 30}});
              },
              /*session_only=*/true});

  router.Add({"POST", "/api/v1/auth/totp/confirm", all, false, true,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
                ObjectReader r(body);
                std::string code = r.String("code", 6, 8);
                VIGIL_RETURN_IF_ERROR(r.Finish());
                VIGIL_ASSIGN_OR_RETURN(
                    auto codes, s.auth.ConfirmTotp(ctx.who(), ctx.session, code, AuditFor(ctx)));
                // The user's other sessions ended; so do their event streams.
                s.events.CloseUserSessions(ctx.who().user_id, ctx.session);
                return Ok(json{{"recovery_codes", codes}});
              },
              /*session_only=*/true});

  router.Add({"POST", "/api/v1/auth/totp/disable", all, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
                ObjectReader r(body);
                std::string password = r.String("password", 1, 1024);
                std::string code = r.String("code", 6, 20);
                VIGIL_RETURN_IF_ERROR(r.Finish());
                VIGIL_RETURN_IF_ERROR(s.auth.DisableTotp(ctx.who(), password, code, AuditFor(ctx)));
                return NoContent();
              },
              /*session_only=*/true});
}

}  // namespace vigil::server::api
