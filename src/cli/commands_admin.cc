// vigil tokens, audit, backup.

#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"

namespace vigil::cli {
namespace {

std::string Dash(const std::string& s) { return s.empty() ? "-" : s; }

// ---- tokens

struct TokenListFlags {
  ListFlags list;
  int64_t user = 0;
  bool revoked = false;
  bool active = false;
};

Status ListTokens(Context& ctx, const TokenListFlags& f) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  QueryString qs;
  AddListQuery(qs, f.list);
  if (f.user > 0) {
    qs.Add("user_id", f.user);
  }
  if (f.revoked) {
    qs.Add("revoked", "true");
  } else if (f.active) {
    qs.Add("revoked", "false");
  }
  VIGIL_ASSIGN_OR_RETURN(Json page, api->Get("/api/v1/tokens" + qs.str()));
  return PrintPage(
      ctx, page,
      {{"ID", "id"},
       {"NAME", "name"},
       {"PREFIX", "", [](const Json& t) { return Dash(StringOf(t, "prefix")) + "..."; }},
       {"SCOPE", "scope"},
       {"USER", "user_id"},
       {"CREATED", "created_at"},
       {"LAST USED", "last_used_at"},
       {"EXPIRES", "expires_at"},
       {"REVOKED", "revoked_at"}},
      "tokens");
}

struct TokenCreateFlags {
  std::string name;
  std::string scope = "read";
  int64_t expires_in_days = 0;
};

Status CreateToken(Context& ctx, const TokenCreateFlags& f) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  Json body = {{"name", f.name}, {"scope", f.scope}};
  if (f.expires_in_days > 0) {
    body["expires_in_days"] = f.expires_in_days;
  }
  VIGIL_ASSIGN_OR_RETURN(Json token, api->Post("/api/v1/tokens", body));
  const std::string secret = StringOf(token, "secret");
  if (secret.empty()) {
    return Internal("the server sent an invalid response (no token secret)");
  }
  if (ctx.json()) {
    ctx.PrintJson(token);
  } else {
    ctx.Print(fmt::format("Created API token {} \"{}\" (scope {}, expires {}).\nSecret: {}\n",
                          IdOf(token), SanitizeLine(StringOf(token, "name"), 100),
                          Display(Lookup(token, "scope")), Display(Lookup(token, "expires_at")),
                          SanitizeLine(secret, 200)));
  }
  ctx.Note("The secret is shown only this once: store it now (e.g. as VIGIL_TOKEN).");
  return Status::Ok();
}

Status RevokeToken(Context& ctx, int64_t id) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_RETURN_IF_ERROR(api->Delete(fmt::format("/api/v1/tokens/{}", id)).status());
  if (!ctx.json()) {
    ctx.Print(fmt::format("Revoked token {}.\n", id));
  }
  return Status::Ok();
}

// ---- audit

struct AuditFlags {
  ListFlags list;
  std::string action;
  std::string entity_type;
  int64_t actor = 0;
  int64_t client = 0;
};

Status Audit(Context& ctx, const AuditFlags& f) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  QueryString qs;
  AddListQuery(qs, f.list);
  qs.Add("action", f.action).Add("entity_type", f.entity_type);
  if (f.actor > 0) {
    qs.Add("actor_id", f.actor);
  }
  if (f.client > 0) {
    qs.Add("client_id", f.client);
  }
  VIGIL_ASSIGN_OR_RETURN(Json page, api->Get("/api/v1/audit" + qs.str()));
  return PrintPage(ctx, page,
                   {{"ID", "id"},
                    {"AT", "at"},
                    {"ACTOR", "",
                     [](const Json& e) {
                       std::string label = StringOf(e, "actor.label");
                       return label.empty() ? Dash(StringOf(e, "actor.type")) : label;
                     }},
                    {"ACTION", "action"},
                    {"ENTITY", "",
                     [](const Json& e) {
                       std::string type = StringOf(e, "entity_type");
                       const Json* id = Lookup(e, "entity_id");
                       if (id != nullptr && id->is_number_integer()) {
                         return Dash(type) + " " + std::to_string(id->get<int64_t>());
                       }
                       return Dash(type);
                     }},
                    {"CLIENT", "client_id"},
                    {"FROM", "remote_address"}},
                   "audit entries");
}

// ---- backup

Status Backup(Context& ctx) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_ASSIGN_OR_RETURN(Json out, api->Call("POST", "/api/v1/admin/backup"));
  if (ctx.json()) {
    ctx.PrintJson(out);
    return Status::Ok();
  }
  const std::string path = StringOf(out, "path");
  if (path.empty()) {
    return Internal("the server sent an invalid response (no backup path)");
  }
  ctx.Print(fmt::format("Backup written on the server to {} ({} bytes).\n",
                        SanitizeLine(path, 1000), Display(Lookup(out, "bytes"))));
  return Status::Ok();
}

}  // namespace

void AddAdminCommands(CLI::App& app, Registry& reg) {
  CLI::App* tokens = reg.Group(app, "tokens", "API tokens");

  auto list = std::make_shared<TokenListFlags>();
  CLI::App* cmd = reg.Add(*tokens, "list",
                          "List API tokens (owners and admins see everyone's; others their own)",
                          [list](Context& ctx) { return ListTokens(ctx, *list); });
  AddListFlags(cmd, list->list, "id, name, created_at, last_used_at", false);
  cmd->add_option("--user", list->user, "only this user's tokens")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  auto* revoked = cmd->add_flag("--revoked", list->revoked, "only revoked tokens");
  cmd->add_flag("--active", list->active, "only tokens that are not revoked")->excludes(revoked);

  auto create = std::make_shared<TokenCreateFlags>();
  cmd = reg.Add(*tokens, "create", "Create an API token for yourself; prints its secret once",
                [create](Context& ctx) { return CreateToken(ctx, *create); });
  cmd->add_option("--name", create->name, "what the token is for")->required();
  cmd->add_option("--scope", create->scope, "read (GET only) or write")
      ->check(CLI::IsMember({"read", "write"}))
      ->capture_default_str();
  cmd->add_option("--expires-in-days", create->expires_in_days, "expire after N days (1-3650)")
      ->check(CLI::Range(int64_t{1}, int64_t{3650}));

  auto revoke_id = std::make_shared<int64_t>(0);
  cmd = reg.Add(*tokens, "revoke", "Revoke an API token",
                [revoke_id](Context& ctx) { return RevokeToken(ctx, *revoke_id); });
  AddIdArg(cmd, *revoke_id, "ID", "token id (see `vigil tokens list`)");

  auto audit = std::make_shared<AuditFlags>();
  cmd = reg.Add(app, "audit", "Show the audit log, newest first (owners and admins)",
                [audit](Context& ctx) { return Audit(ctx, *audit); });
  AddListFlags(cmd, audit->list, "id, at", false);
  cmd->add_option("--action", audit->action, "only this action, e.g. client.create");
  cmd->add_option("--entity-type", audit->entity_type, "only this kind of entity, e.g. client");
  cmd->add_option("--actor", audit->actor, "only actions by this user id")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  cmd->add_option("--client", audit->client, "only entries about this client id")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));

  reg.Add(app, "backup",
          "Make the server write a consistent backup of its store (owner only); prints the path "
          "on the server",
          [](Context& ctx) { return Backup(ctx); });
}

}  // namespace vigil::cli
