// vigil users.

#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/terminal.h"

namespace vigil::cli {
namespace {

constexpr const char* kRoles =
    "owner, admin, technician, dispatcher, billing (staff); client_admin, client_user (clients)";

const std::vector<std::string> kUserOrder = {
    "id",       "email",        "name",          "role",       "client_id",
    "disabled", "totp_enabled", "last_login_at", "created_at", "updated_at"};

struct UserFlags {
  int64_t id = 0;
  ListFlags list;
  std::string role;
  int64_t client = 0;
  bool disabled = false;
  bool enabled = false;
  bool password_stdin = false;
  BodyFields body;
};

Status ListUsers(Context& ctx, const UserFlags& f) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  QueryString qs;
  AddListQuery(qs, f.list);
  qs.Add("role", f.role);
  if (f.client > 0) {
    qs.Add("client_id", f.client);
  }
  if (f.disabled) {
    qs.Add("disabled", "true");
  } else if (f.enabled) {
    qs.Add("disabled", "false");
  }
  VIGIL_ASSIGN_OR_RETURN(Json page, api->Get("/api/v1/users" + qs.str()));
  return PrintPage(ctx, page,
                   {{"ID", "id"},
                    {"EMAIL", "email"},
                    {"NAME", "name"},
                    {"ROLE", "role"},
                    {"CLIENT", "client_id"},
                    {"DISABLED", "disabled"},
                    {"2FA", "totp_enabled"},
                    {"LAST LOGIN", "last_login_at"}},
                   "users");
}

Status CreateUser(Context& ctx, const UserFlags& f) {
  Json body = f.body.Build();
  if (f.password_stdin) {
    VIGIL_ASSIGN_OR_RETURN(std::string password, ReadSecretFromStdin());
    body["password"] = password;
  }
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_ASSIGN_OR_RETURN(Json user, api->Post("/api/v1/users", body));
  if (ctx.json()) {
    ctx.PrintJson(user);
  } else {
    ctx.Print(fmt::format("Created user {} {} ({}).\n", IdOf(user),
                          SanitizeLine(StringOf(user, "email"), 254),
                          SanitizeLine(StringOf(user, "role"), 40)));
  }
  if (std::string initial = StringOf(user, "initial_password"); !initial.empty()) {
    if (!ctx.json()) {
      ctx.Print("Initial password: " + SanitizeLine(initial, 200) + "\n");
    }
    ctx.Note("The initial password is shown only this once: hand it over safely.");
  }
  return Status::Ok();
}

Status UpdateUser(Context& ctx, const UserFlags& f) {
  if (!f.body.any()) {
    return NothingToUpdate();
  }
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_ASSIGN_OR_RETURN(Json user,
                         api->Patch(fmt::format("/api/v1/users/{}", f.id), f.body.Build()));
  if (ctx.json()) {
    ctx.PrintJson(user);
  } else {
    ctx.Print(fmt::format(
        "Updated user {} {} ({}{}).\n", IdOf(user), SanitizeLine(StringOf(user, "email"), 254),
        SanitizeLine(StringOf(user, "role"), 40), BoolOf(user, "disabled") ? ", disabled" : ""));
  }
  return Status::Ok();
}

void AddUserFields(CLI::App* cmd, BodyFields& body, bool create) {
  auto* email = body.String(cmd, "--email", "email", "e-mail address (the sign-in name)");
  auto* name = body.String(cmd, "--name", "name", "full name");
  auto* role = body.String(cmd, "--role", "role", std::string("role: ") + kRoles);
  if (create) {
    email->required();
    name->required();
    role->required();
  }
  auto* client = body.Int(cmd, "--client", "client_id",
                          "the client a client_admin or client_user belongs to", 1, INT64_MAX);
  if (!create) {
    body.Constant(cmd, "--no-client", "client_id", nullptr,
                  "belongs to no client (for staff roles)")
        ->excludes(client);
    auto* disable = body.Constant(cmd, "--disable", "disabled", true, "block sign-in");
    body.Constant(cmd, "--enable", "disabled", false, "allow sign-in again")->excludes(disable);
  }
}

}  // namespace

void AddUserCommands(CLI::App& app, Registry& reg) {
  CLI::App* group = reg.Group(app, "users", "Users (staff and client accounts)");

  auto list = std::make_shared<UserFlags>();
  CLI::App* cmd =
      reg.Add(*group, "list", "List users", [list](Context& ctx) { return ListUsers(ctx, *list); });
  AddListFlags(cmd, list->list, "id, email, name, role, created_at, last_login_at", true);
  cmd->add_option("--role", list->role, std::string("only this role: ") + kRoles);
  cmd->add_option("--client", list->client, "only users of this client")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  auto* disabled = cmd->add_flag("--disabled", list->disabled, "only disabled users");
  cmd->add_flag("--enabled", list->enabled, "only users who may sign in")->excludes(disabled);

  auto create = std::make_shared<UserFlags>();
  cmd = reg.Add(*group, "create",
                "Create a user; without --password-stdin the server makes an initial password, "
                "printed once",
                [create](Context& ctx) { return CreateUser(ctx, *create); });
  AddUserFields(cmd, create->body, true);
  cmd->add_flag("--password-stdin", create->password_stdin, "read the password from stdin");

  auto show = std::make_shared<UserFlags>();
  cmd = reg.Add(*group, "show", "Show one user", [show](Context& ctx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
    VIGIL_ASSIGN_OR_RETURN(Json user, api->Get(fmt::format("/api/v1/users/{}", show->id)));
    return PrintObject(ctx, user, kUserOrder);
  });
  AddIdArg(cmd, show->id, "ID", "user id");

  auto update = std::make_shared<UserFlags>();
  cmd = reg.Add(*group, "update", "Change a user (only the fields given)",
                [update](Context& ctx) { return UpdateUser(ctx, *update); });
  AddIdArg(cmd, update->id, "ID", "user id");
  AddUserFields(cmd, update->body, false);
}

}  // namespace vigil::cli
