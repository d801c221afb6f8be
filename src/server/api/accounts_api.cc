// Routes for clients, sites, contacts, users, API tokens, settings and the audit log.

#include <filesystem>

#include <fmt/format.h>

#include "core/money.h"
#include "crypto/crypto.h"
#include "domain/accounts_json.h"
#include "domain/validate.h"
#include "server/api/services.h"

namespace vigil::server::api {
namespace {

using domain::Role;
using domain::RoleSet;
using nlohmann::json;
using vigil::json::ObjectReader;

constexpr int64_t kMaxMinor = 1'000'000'000'000;  // 10^12 minor units
constexpr size_t kNameMax = 200;
constexpr size_t kNotesMax = 10'000;

const RoleSet kAll = RoleSet::All();
const RoleSet kOwnerAdmin = {Role::kOwner, Role::kAdmin};

// ---- field readers shared by create and update

// True when the system's time zone database knows `tz` (always true where it is not installed:
// then only the shape of the name is checked).
bool KnownTimezone(const std::string& tz) {
  static const bool have_db = std::filesystem::is_directory("/usr/share/zoneinfo");
  if (!have_db) {
    return true;
  }
  std::error_code ec;
  return std::filesystem::is_regular_file("/usr/share/zoneinfo/" + tz, ec);
}

void ReadTimezone(ObjectReader& r, std::string_view field, std::string& out) {
  if (auto tz = r.OptString(field, 1, 64)) {
    if (auto err = domain::CheckTimezoneName(*tz)) {
      r.AddError(field, *err);
    } else if (!KnownTimezone(*tz)) {
      r.AddError(field, "is not a known IANA time zone");
    } else {
      out = *tz;
    }
  }
}

void ReadBusinessHours(ObjectReader& r, domain::BusinessHours& out) {
  const nlohmann::json* j = r.OptObject("business_hours");
  if (j == nullptr) {
    return;
  }
  ObjectReader days(*j, "business_hours.");
  // Days not named keep their hours; null closes a day.
  domain::BusinessHours h = out;
  for (int d = 0; d < 7; ++d) {
    std::string_view key = domain::kWeekdayKeys[d];
    if (days.TakeNull(key)) {
      h.days[d].reset();
      continue;
    }
    auto pair = days.OptStringArray(key, 2, 5, 5);
    if (!pair) {
      continue;
    }
    auto open = pair->size() == 2 ? domain::ParseClock((*pair)[0]) : std::nullopt;
    auto close = pair->size() == 2 ? domain::ParseClock((*pair)[1]) : std::nullopt;
    if (!open || !close || *open >= *close) {
      days.AddError(key, "must be [\"HH:MM\", \"HH:MM\"] with opening before closing, or null");
      continue;
    }
    h.days[d] = domain::DayHours{*open, *close};
  }
  Status st = days.Finish();
  for (const auto& e : st.field_errors()) {
    r.AddError(e.field, e.detail);
  }
  if (st.ok()) {
    out = h;
  }
}

// Reads an optional, nullable non-negative integer.
void ReadNullableInt(ObjectReader& r, std::string_view name, int64_t max,
                     std::optional<int64_t>& out) {
  if (r.TakeNull(name)) {
    out.reset();
  } else if (auto v = r.OptInt(name, 0, max)) {
    out = v;
  }
}

Status ReadClient(ObjectReader& r, domain::Client& c, bool create) {
  if (create) {
    c.name = r.String("name", 1, kNameMax);
  } else if (auto n = r.OptString("name", 1, kNameMax)) {
    c.name = *n;
  }
  if (!create) {
    if (auto s = r.OptEnum("status", {"active", "archived"})) {
      c.status = *s == "archived" ? domain::ClientStatus::kArchived : domain::ClientStatus::kActive;
    }
  }
  ReadTimezone(r, "timezone", c.timezone);
  ReadBusinessHours(r, c.business_hours);
  ReadNullableInt(r, "employees", 10'000'000, c.employees);
  if (auto cur = r.OptString("currency", 3, 3)) {
    if (auto ok = Currency::FromCode(*cur); !ok) {
      r.AddError("currency", "must be an ISO 4217 code such as EUR or USD");
    } else {
      c.currency = *cur;
    }
  }
  if (const nlohmann::json* d = r.OptObject("downtime_cost")) {
    ObjectReader dr(*d, "downtime_cost.");
    ReadNullableInt(dr, "per_hour_minor", kMaxMinor, c.downtime.per_hour_minor);
    ReadNullableInt(dr, "staff_affected", 1'000'000, c.downtime.staff_affected);
    ReadNullableInt(dr, "loaded_hourly_cost_minor", kMaxMinor, c.downtime.loaded_hourly_cost_minor);
    ReadNullableInt(dr, "revenue_per_hour_minor", kMaxMinor, c.downtime.revenue_per_hour_minor);
    // Read-only; ignored when a client's JSON is sent back as it was read.
    if (!dr.TakeNull("effective_per_hour_minor")) {
      dr.OptInt("effective_per_hour_minor", 0, INT64_MAX);
    }
    Status st = dr.Finish();
    for (const auto& e : st.field_errors()) {
      r.AddError(e.field, e.detail);
    }
  }
  if (auto n = r.OptString("notes", 0, kNotesMax, vigil::json::Text::kMultiline)) {
    c.notes = *n;
  }
  return r.Finish();
}

Status ReadSite(ObjectReader& r, domain::Site& s, bool create) {
  if (create) {
    s.name = r.String("name", 1, kNameMax);
  } else if (auto n = r.OptString("name", 1, kNameMax)) {
    s.name = *n;
  }
  if (auto a = r.OptString("address", 0, 1000, vigil::json::Text::kMultiline)) {
    s.address = *a;
  }
  if (r.TakeNull("timezone")) {
    s.timezone.reset();
  } else if (r.Has("timezone")) {
    std::string tz;
    ReadTimezone(r, "timezone", tz);
    if (!tz.empty()) {
      s.timezone = tz;
    }
  }
  if (auto n = r.OptString("notes", 0, kNotesMax, vigil::json::Text::kMultiline)) {
    s.notes = *n;
  }
  return r.Finish();
}

Status ReadContact(ObjectReader& r, domain::Contact& c, bool create) {
  if (create) {
    c.name = r.String("name", 1, kNameMax);
  } else if (auto n = r.OptString("name", 1, kNameMax)) {
    c.name = *n;
  }
  if (auto e = r.OptString("email", 0, 254)) {
    if (!e->empty()) {
      if (auto err = domain::CheckEmail(*e)) {
        r.AddError("email", *err);
      }
    }
    c.email = domain::AsciiLower(*e);
  }
  if (auto p = r.OptString("phone", 0, 40)) {
    if (!p->empty()) {
      if (auto err = domain::CheckPhone(*p)) {
        r.AddError("phone", *err);
      }
    }
    c.phone = *p;
  }
  if (auto t = r.OptString("title", 0, kNameMax)) {
    c.title = *t;
  }
  if (r.TakeNull("site_id")) {
    c.site_id.reset();
  } else if (auto s = r.OptInt("site_id", 1, INT64_MAX)) {
    c.site_id = SiteId{*s};
  }
  if (auto b = r.OptBool("is_primary")) {
    c.is_primary = *b;
  }
  if (auto b = r.OptBool("is_billing")) {
    c.is_billing = *b;
  }
  if (auto b = r.OptBool("is_technical")) {
    c.is_technical = *b;
  }
  return r.Finish();
}

// ---- users: who may manage whom

// Errors: kPermissionDenied when `who` may not manage a user with role `target` (of `client`).
Status MayManage(const domain::Principal& who, Role target, std::optional<ClientId> client) {
  if (!domain::MayGrantRole(who.role, target)) {
    return PermissionDenied(fmt::format("a {} may not manage {} users", domain::RoleName(who.role),
                                        domain::RoleName(target)));
  }
  if (who.role == Role::kClientAdmin && client != who.client_id) {
    return NotFound("user not found");
  }
  return Status::Ok();
}

Status ReadUserRole(ObjectReader& r, const domain::Principal& who, domain::User& u, bool create) {
  std::optional<std::string> role_name = create ? std::optional(r.Enum("role", domain::RoleNames()))
                                                : r.OptEnum("role", domain::RoleNames());
  if (role_name && !role_name->empty()) {
    u.role = *domain::ParseRole(*role_name);
  }
  if (r.TakeNull("client_id")) {
    u.client_id.reset();
  } else if (auto c = r.OptInt("client_id", 1, INT64_MAX)) {
    u.client_id = ClientId{*c};
  }
  if (who.role == Role::kClientAdmin) {
    // A client admin works inside its own client; naming another one finds nothing.
    if (u.client_id && u.client_id != who.client_id) {
      return NotFound(fmt::format("client {} not found", Raw(*u.client_id)));
    }
    u.client_id = who.client_id;
  }
  if (domain::IsStaffRole(u.role) && u.client_id) {
    if (who.role == Role::kClientAdmin) {
      r.AddError("role", "must be a client role");
    } else {
      r.AddError("client_id", "must be null for staff roles");
    }
  }
  if (domain::IsClientRole(u.role) && !u.client_id) {
    r.AddError("client_id", "is required for client roles");
  }
  return Status::Ok();
}

std::optional<ClientId> UserScope(const domain::Principal& who) {
  return who.role == Role::kClientAdmin ? who.client_id : std::nullopt;
}

void AddUserRoutes(Router& router, Services& s) {
  const RoleSet managers = {Role::kOwner, Role::kAdmin, Role::kClientAdmin};

  router.Add({"GET", "/api/v1/users", managers, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(auto q,
                                       ReadListQuery(ctx, {storage::kUserSortKeys,
                                                           {{"role", domain::RoleNames()},
                                                            {"client_id", kAnyId},
                                                            {"disabled", {"true", "false"}}}}));
                VIGIL_ASSIGN_OR_RETURN(auto page, s.accounts.ListUsers(q, UserScope(ctx.who())));
                return Ok(PageJson(page, q, [](const auto& u) { return domain::ToJson(u); }));
              }});

  router.Add({"POST", "/api/v1/users", managers, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
                ObjectReader r(body);
                domain::User u;
                std::string email = r.String("email", 3, 254);
                if (!email.empty()) {
                  if (auto err = domain::CheckEmail(email)) {
                    r.AddError("email", *err);
                  }
                }
                u.email = domain::AsciiLower(email);
                u.name = r.String("name", 1, kNameMax);
                VIGIL_RETURN_IF_ERROR(ReadUserRole(r, ctx.who(), u, true));
                auto password = r.OptString("password", 0, 1024);
                if (password) {
                  if (auto err = domain::CheckPassword(*password)) {
                    r.AddError("password", *err);
                  }
                }
                VIGIL_RETURN_IF_ERROR(r.Finish());
                VIGIL_RETURN_IF_ERROR(MayManage(ctx.who(), u.role, u.client_id));
                std::string initial = password.value_or(crypto::RandomToken(15));
                VIGIL_ASSIGN_OR_RETURN(std::string hash, s.auth.HashPassword(initial));
                VIGIL_ASSIGN_OR_RETURN(auto created, s.accounts.CreateUser(u, hash, AuditFor(ctx)));
                json out = domain::ToJson(created);
                if (!password) {
                  out["initial_password"] = initial;
                }
                return Created(out);
              }});

  router.Add({"GET", "/api/v1/users/{id}", managers, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                VIGIL_ASSIGN_OR_RETURN(auto u,
                                       s.accounts.GetUser(UserId{id}, UserScope(ctx.who())));
                return Ok(domain::ToJson(u));
              }});

  router.Add(
      {"PATCH", "/api/v1/users/{id}", managers, false, false, [&s](Ctx& ctx) -> Result<Reply> {
         VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
         VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
         const auto& who = ctx.who();
         // A change of access ends the user's live event streams.
         Role before_role{};
         std::optional<ClientId> before_client;
         VIGIL_ASSIGN_OR_RETURN(auto u,
                                s.accounts.UpdateUser(
                                    UserId{id}, UserScope(who),
                                    [&](domain::User& u) -> Status {
                                      before_role = u.role;
                                      before_client = u.client_id;
                                      VIGIL_RETURN_IF_ERROR(MayManage(who, u.role, u.client_id));
                                      ObjectReader r(body);
                                      if (auto e = r.OptString("email", 3, 254)) {
                                        if (auto err = domain::CheckEmail(*e)) {
                                          r.AddError("email", *err);
                                        } else {
                                          u.email = *e;
                                        }
                                      }
                                      if (auto n = r.OptString("name", 1, kNameMax)) u.name = *n;
                                      if (auto d = r.OptBool("disabled")) u.disabled = *d;
                                      VIGIL_RETURN_IF_ERROR(ReadUserRole(r, who, u, false));
                                      VIGIL_RETURN_IF_ERROR(r.Finish());
                                      return MayManage(who, u.role, u.client_id);
                                    },
                                    AuditFor(ctx)));
         if (u.disabled || u.role != before_role || u.client_id != before_client) {
           s.events.CloseUser(u.id);
         }
         return Ok(domain::ToJson(u));
       }});
}

// ---- clients, sites, contacts

void AddClientRoutes(Router& router, Services& s) {
  router.Add(
      {"GET", "/api/v1/clients", kAll, false, false, [&s](Ctx& ctx) -> Result<Reply> {
         VIGIL_ASSIGN_OR_RETURN(auto q, ReadListQuery(ctx, {storage::kClientSortKeys,
                                                            {{"status", {"active", "archived"}}}}));
         VIGIL_ASSIGN_OR_RETURN(auto page, s.accounts.ListClients(q, ctx.who().ClientScope()));
         return Ok(PageJson(page, q, [](const auto& c) { return domain::ToJson(c); }));
       }});

  router.Add(
      {"POST", "/api/v1/clients", kOwnerAdmin, false, false, [&s](Ctx& ctx) -> Result<Reply> {
         VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
         ObjectReader r(body);
         domain::Client c;
         c.business_hours = domain::DefaultBusinessHours();
         VIGIL_RETURN_IF_ERROR(ReadClient(r, c, true));
         VIGIL_ASSIGN_OR_RETURN(auto created, s.accounts.CreateClient(c, AuditFor(ctx)));
         return Created(domain::ToJson(created));
       }});

  router.Add({"GET", "/api/v1/clients/{id}", kAll, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                VIGIL_ASSIGN_OR_RETURN(auto c,
                                       s.accounts.GetClient(ClientId{id}, ctx.who().ClientScope()));
                return Ok(domain::ToJson(c));
              }});

  router.Add(
      {"PATCH", "/api/v1/clients/{id}", kOwnerAdmin, false, false, [&s](Ctx& ctx) -> Result<Reply> {
         VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
         VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
         VIGIL_ASSIGN_OR_RETURN(auto c, s.accounts.UpdateClient(
                                            ClientId{id}, ctx.who().ClientScope(),
                                            [&](domain::Client& c) {
                                              ObjectReader r(body);
                                              return ReadClient(r, c, false);
                                            },
                                            AuditFor(ctx)));
         return Ok(domain::ToJson(c));
       }});

  const RoleSet site_editors = {Role::kOwner, Role::kAdmin, Role::kClientAdmin};
  router.Add(
      {"GET", "/api/v1/clients/{id}/sites", kAll, false, false, [&s](Ctx& ctx) -> Result<Reply> {
         VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
         VIGIL_ASSIGN_OR_RETURN(auto q, ReadListQuery(ctx, {storage::kSiteSortKeys, {}}));
         VIGIL_ASSIGN_OR_RETURN(auto page,
                                s.accounts.ListSites(ClientId{id}, q, ctx.who().ClientScope()));
         return Ok(PageJson(page, q, [](const auto& x) { return domain::ToJson(x); }));
       }});
  router.Add({"POST", "/api/v1/clients/{id}/sites", site_editors, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
                ObjectReader r(body);
                domain::Site site;
                site.client_id = ClientId{id};
                VIGIL_RETURN_IF_ERROR(ReadSite(r, site, true));
                VIGIL_ASSIGN_OR_RETURN(
                    auto created,
                    s.accounts.CreateSite(site, ctx.who().ClientScope(), AuditFor(ctx)));
                return Created(domain::ToJson(created));
              }});
  router.Add({"GET", "/api/v1/sites/{id}", kAll, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                VIGIL_ASSIGN_OR_RETURN(auto x,
                                       s.accounts.GetSite(SiteId{id}, ctx.who().ClientScope()));
                return Ok(domain::ToJson(x));
              }});
  router.Add(
      {"PATCH", "/api/v1/sites/{id}", site_editors, false, false, [&s](Ctx& ctx) -> Result<Reply> {
         VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
         VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
         VIGIL_ASSIGN_OR_RETURN(auto x, s.accounts.UpdateSite(
                                            SiteId{id}, ctx.who().ClientScope(),
                                            [&](domain::Site& site) {
                                              ObjectReader r(body);
                                              return ReadSite(r, site, false);
                                            },
                                            AuditFor(ctx)));
         return Ok(domain::ToJson(x));
       }});
  router.Add(
      {"DELETE", "/api/v1/sites/{id}", kOwnerAdmin, false, false, [&s](Ctx& ctx) -> Result<Reply> {
         VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
         VIGIL_RETURN_IF_ERROR(
             s.accounts.DeleteSite(SiteId{id}, ctx.who().ClientScope(), AuditFor(ctx)));
         return NoContent();
       }});

  const RoleSet contact_editors = {Role::kOwner, Role::kAdmin, Role::kDispatcher,
                                   Role::kClientAdmin};
  const RoleSet contact_deleters = {Role::kOwner, Role::kAdmin, Role::kClientAdmin};
  router.Add(
      {"GET", "/api/v1/clients/{id}/contacts", kAll, false, false, [&s](Ctx& ctx) -> Result<Reply> {
         VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
         VIGIL_ASSIGN_OR_RETURN(
             auto q, ReadListQuery(ctx, {storage::kContactSortKeys,
                                         {{"site_id", kAnyId},
                                          {"flag", {"primary", "billing", "technical"}}}}));
         VIGIL_ASSIGN_OR_RETURN(auto page,
                                s.accounts.ListContacts(ClientId{id}, q, ctx.who().ClientScope()));
         return Ok(PageJson(page, q, [](const auto& x) { return domain::ToJson(x); }));
       }});
  router.Add({"POST", "/api/v1/clients/{id}/contacts", contact_editors, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
                ObjectReader r(body);
                domain::Contact c;
                c.client_id = ClientId{id};
                VIGIL_RETURN_IF_ERROR(ReadContact(r, c, true));
                VIGIL_ASSIGN_OR_RETURN(
                    auto created,
                    s.accounts.CreateContact(c, ctx.who().ClientScope(), AuditFor(ctx)));
                return Created(domain::ToJson(created));
              }});
  router.Add({"GET", "/api/v1/contacts/{id}", kAll, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                VIGIL_ASSIGN_OR_RETURN(
                    auto x, s.accounts.GetContact(ContactId{id}, ctx.who().ClientScope()));
                return Ok(domain::ToJson(x));
              }});
  router.Add({"PATCH", "/api/v1/contacts/{id}", contact_editors, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
                VIGIL_ASSIGN_OR_RETURN(auto x, s.accounts.UpdateContact(
                                                   ContactId{id}, ctx.who().ClientScope(),
                                                   [&](domain::Contact& c) {
                                                     ObjectReader r(body);
                                                     return ReadContact(r, c, false);
                                                   },
                                                   AuditFor(ctx)));
                return Ok(domain::ToJson(x));
              }});
  router.Add({"DELETE", "/api/v1/contacts/{id}", contact_deleters, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                VIGIL_RETURN_IF_ERROR(s.accounts.DeleteContact(
                    ContactId{id}, ctx.who().ClientScope(), AuditFor(ctx)));
                return NoContent();
              }});
}

// ---- API tokens

bool SeesAllTokens(const domain::Principal& p) {
  return p.role == Role::kOwner || p.role == Role::kAdmin;
}

void AddTokenRoutes(Router& router, Services& s) {
  router.Add({"GET", "/api/v1/tokens", kAll, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(
                    auto q,
                    ReadListQuery(ctx, {storage::kTokenSortKeys,
                                        {{"user_id", kAnyId}, {"revoked", {"true", "false"}}}}));
                std::optional<UserId> user = ctx.who().user_id;
                for (auto it = q.filters.begin(); it != q.filters.end(); ++it) {
                  if (it->first != "user_id") {
                    continue;
                  }
                  UserId asked{std::stoll(it->second)};
                  if (!SeesAllTokens(ctx.who()) && asked != ctx.who().user_id) {
                    return PermissionDenied("you may list only your own tokens");
                  }
                  user = asked;
                  q.filters.erase(it);
                  break;
                }
                if (SeesAllTokens(ctx.who()) && !ctx.Query("user_id")) {
                  user.reset();
                }
                VIGIL_ASSIGN_OR_RETURN(auto page, s.accounts.ListTokens(user, q));
                return Ok(PageJson(page, q, [](const auto& t) { return domain::ToJson(t); }));
              }});

  router.Add({"POST", "/api/v1/tokens", kAll, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
                ObjectReader r(body);
                std::string name = r.String("name", 1, 100);
                std::string scope = r.Enum("scope", {"read", "write"});
                auto days = r.OptInt("expires_in_days", 1, 3650);
                VIGIL_RETURN_IF_ERROR(r.Finish());
                auto sc = *domain::ParseTokenScope(scope);
                std::optional<TimePoint> expires;
                if (days) {
                  expires = ctx.now + std::chrono::hours(24 * *days);
                }
                VIGIL_ASSIGN_OR_RETURN(auto issued, s.auth.IssueToken(ctx.who().user_id, name, sc,
                                                                      expires, AuditFor(ctx)));
                json out = domain::ToJson(issued.token);
                out["secret"] = issued.secret;
                return Created(out);
              }});

  router.Add({"DELETE", "/api/v1/tokens/{id}", kAll, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                VIGIL_ASSIGN_OR_RETURN(auto t, s.accounts.GetToken(TokenId{id}));
                if (t.user_id != ctx.who().user_id) {
                  // Only someone who may manage the token's user: an admin not an owner's.
                  auto owner_of = s.accounts.GetUser(t.user_id, std::nullopt);
                  if (!SeesAllTokens(ctx.who()) || !owner_of ||
                      !domain::MayGrantRole(ctx.who().role, owner_of->role)) {
                    return NotFound(fmt::format("token {} not found", id));
                  }
                }
                VIGIL_RETURN_IF_ERROR(s.accounts.RevokeToken(TokenId{id}, AuditFor(ctx)));
                s.events.CloseToken(TokenId{id});
                return NoContent();
              }});
}

// ---- settings and audit

void AddAdminRoutes(Router& router, Services& s) {
  router.Add({"GET", "/api/v1/settings", kOwnerAdmin, false, false, [&s](Ctx&) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(bool mfa, s.auth.MfaRequiredForStaff());
                return Ok(json{{"require_mfa_for_staff", mfa}});
              }});
  router.Add(
      {"PATCH", "/api/v1/settings", {Role::kOwner}, false, false, [&s](Ctx& ctx) -> Result<Reply> {
         VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
         ObjectReader r(body);
         auto mfa = r.OptBool("require_mfa_for_staff");
         VIGIL_RETURN_IF_ERROR(r.Finish());
         // The owner who turns the policy on must not lock themselves out.
         if (mfa && *mfa && !ctx.who().totp_enabled) {
           return FailedPrecondition(
               "enrol two-factor authentication yourself before requiring it for staff");
         }
         if (mfa) {
           VIGIL_RETURN_IF_ERROR(
               s.accounts.SetSetting(kSettingRequireMfa, *mfa ? "true" : "false", AuditFor(ctx)));
         }
         VIGIL_ASSIGN_OR_RETURN(bool now_mfa, s.auth.MfaRequiredForStaff());
         return Ok(json{{"require_mfa_for_staff", now_mfa}});
       }});
  router.Add({"GET", "/api/v1/audit", kOwnerAdmin, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(auto q, ReadListQuery(ctx, {storage::kAuditSortKeys,
                                                                   {{"action", kAnyText},
                                                                    {"entity_type", kAnyText},
                                                                    {"actor_id", kAnyId},
                                                                    {"client_id", kAnyId}}}));
                VIGIL_ASSIGN_OR_RETURN(auto page, s.accounts.ListAudit(q));
                return Ok(PageJson(page, q, [](const auto& e) { return domain::ToJson(e); }));
              }});
}

}  // namespace

void RegisterAccountsRoutes(Router& router, Services& s) {
  AddClientRoutes(router, s);
  AddUserRoutes(router, s);
  AddTokenRoutes(router, s);
  AddAdminRoutes(router, s);
}

}  // namespace vigil::server::api
