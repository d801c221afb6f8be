// vigil clients, sites, contacts.

#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"

namespace vigil::cli {
namespace {

constexpr int64_t kMaxMinor = 1'000'000'000'000;

// Flags shared by one command: an id argument, list flags, filters and body fields.
struct Flags {
  int64_t id = 0;
  ListFlags list;
  std::string status;
  std::string flag;
  int64_t site = 0;
  BodyFields body;
};

// One line after a change: "Created client 12 "Acme"." (or the JSON in --json mode).
void PrintChanged(Context& ctx, const Json& obj, std::string_view verb, std::string_view noun) {
  if (ctx.json()) {
    ctx.PrintJson(obj);
    return;
  }
  std::string name = StringOf(obj, "name");
  ctx.Print(fmt::format("{} {} {}{}.\n", verb, noun, IdOf(obj),
                        name.empty() ? "" : " \"" + SanitizeLine(name, 100) + "\""));
}

Status Show(Context& ctx, const std::string& path, const std::vector<std::string>& first) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_ASSIGN_OR_RETURN(Json obj, api->Get(path));
  return PrintObject(ctx, obj, first);
}

Status Create(Context& ctx, const std::string& path, const BodyFields& body,
              std::string_view noun) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_ASSIGN_OR_RETURN(Json obj, api->Post(path, body.Build()));
  PrintChanged(ctx, obj, "Created", noun);
  return Status::Ok();
}

Status Update(Context& ctx, const std::string& path, const BodyFields& body,
              std::string_view noun) {
  if (!body.any()) {
    return NothingToUpdate();
  }
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_ASSIGN_OR_RETURN(Json obj, api->Patch(path, body.Build()));
  PrintChanged(ctx, obj, "Updated", noun);
  return Status::Ok();
}

Status Delete(Context& ctx, const std::string& path, std::string_view noun, int64_t id) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_RETURN_IF_ERROR(api->Delete(path).status());
  if (!ctx.json()) {
    ctx.Print(fmt::format("Deleted {} {}.\n", noun, id));
  }
  return Status::Ok();
}

// ---- clients

const std::vector<std::string> kClientOrder = {"id",       "name",       "status",
                                               "timezone", "currency",   "employees",
                                               "notes",    "created_at", "updated_at"};

void AddClientFields(CLI::App* cmd, BodyFields& body, bool create) {
  auto* name = body.String(cmd, "--name", "name", "client name");
  if (create) {
    name->required();
  }
  body.String(cmd, "--timezone", "timezone", "IANA time zone, e.g. Europe/Berlin");
  body.String(cmd, "--currency", "currency", "ISO 4217 currency code, e.g. EUR");
  body.Int(cmd, "--employees", "employees", "number of employees", 0, 10'000'000);
  body.Int(cmd, "--downtime-per-hour", "downtime_cost.per_hour_minor",
           "cost of one hour of downtime, in minor units (cents)", 0, kMaxMinor);
  body.String(cmd, "--notes", "notes", "free-form notes");
  if (!create) {
    body.String(cmd, "--status", "status", "active or archived")
        ->check(CLI::IsMember({"active", "archived"}));
  }
}

void AddClients(CLI::App& app, Registry& reg) {
  CLI::App* group = reg.Group(app, "clients", "Clients (the companies you serve)");

  auto list = std::make_shared<Flags>();
  CLI::App* cmd = reg.Add(*group, "list", "List clients", [list](Context& ctx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
    QueryString qs;
    AddListQuery(qs, list->list);
    qs.Add("status", list->status);
    VIGIL_ASSIGN_OR_RETURN(Json page, api->Get("/api/v1/clients" + qs.str()));
    return PrintPage(ctx, page,
                     {{"ID", "id"},
                      {"NAME", "name"},
                      {"STATUS", "status"},
                      {"TIMEZONE", "timezone"},
                      {"EMPLOYEES", "employees"},
                      {"CURRENCY", "currency"}},
                     "clients");
  });
  AddListFlags(cmd, list->list, "id, name, created_at, updated_at, employees", true);
  cmd->add_option("--status", list->status, "active or archived")
      ->check(CLI::IsMember({"active", "archived"}));

  auto show = std::make_shared<Flags>();
  cmd = reg.Add(*group, "show", "Show one client", [show](Context& ctx) {
    return Show(ctx, fmt::format("/api/v1/clients/{}", show->id), kClientOrder);
  });
  AddIdArg(cmd, show->id, "ID", "client id");

  auto create = std::make_shared<Flags>();
  cmd = reg.Add(*group, "create", "Create a client", [create](Context& ctx) {
    return Create(ctx, "/api/v1/clients", create->body, "client");
  });
  AddClientFields(cmd, create->body, true);

  auto update = std::make_shared<Flags>();
  cmd =
      reg.Add(*group, "update", "Change a client (only the fields given)", [update](Context& ctx) {
        return Update(ctx, fmt::format("/api/v1/clients/{}", update->id), update->body, "client");
      });
  AddIdArg(cmd, update->id, "ID", "client id");
  AddClientFields(cmd, update->body, false);
}

// ---- sites

const std::vector<std::string> kSiteOrder = {"id",       "client_id", "name",       "address",
                                             "timezone", "notes",     "created_at", "updated_at"};

void AddSiteFields(CLI::App* cmd, BodyFields& body, bool create) {
  auto* name = body.String(cmd, "--name", "name", "site name");
  if (create) {
    name->required();
  }
  body.String(cmd, "--address", "address", "postal address");
  body.String(cmd, "--timezone", "timezone", "IANA time zone, when not the client's");
  body.String(cmd, "--notes", "notes", "free-form notes");
}

void AddSites(CLI::App& app, Registry& reg) {
  CLI::App* group = reg.Group(app, "sites", "Sites (a client's locations)");

  auto list = std::make_shared<Flags>();
  CLI::App* cmd =
      reg.Add(*group, "list", "List the sites of a client", [list](Context& ctx) -> Status {
        VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
        QueryString qs;
        AddListQuery(qs, list->list);
        VIGIL_ASSIGN_OR_RETURN(
            Json page, api->Get(fmt::format("/api/v1/clients/{}/sites{}", list->id, qs.str())));
        return PrintPage(
            ctx, page,
            {{"ID", "id"}, {"NAME", "name"}, {"TIMEZONE", "timezone"}, {"ADDRESS", "address"}},
            "sites");
      });
  AddIdArg(cmd, list->id, "CLIENT_ID", "client id");
  AddListFlags(cmd, list->list, "id, name, created_at", true);

  auto create = std::make_shared<Flags>();
  cmd = reg.Add(*group, "create", "Add a site to a client", [create](Context& ctx) {
    return Create(ctx, fmt::format("/api/v1/clients/{}/sites", create->id), create->body, "site");
  });
  AddIdArg(cmd, create->id, "CLIENT_ID", "client id");
  AddSiteFields(cmd, create->body, true);

  auto show = std::make_shared<Flags>();
  cmd = reg.Add(*group, "show", "Show one site", [show](Context& ctx) {
    return Show(ctx, fmt::format("/api/v1/sites/{}", show->id), kSiteOrder);
  });
  AddIdArg(cmd, show->id, "ID", "site id");

  auto update = std::make_shared<Flags>();
  cmd = reg.Add(*group, "update", "Change a site (only the fields given)", [update](Context& ctx) {
    return Update(ctx, fmt::format("/api/v1/sites/{}", update->id), update->body, "site");
  });
  AddIdArg(cmd, update->id, "ID", "site id");
  AddSiteFields(cmd, update->body, false);
  update->body.Constant(cmd, "--clear-timezone", "timezone", nullptr,
                        "use the client's time zone again");

  auto del = std::make_shared<Flags>();
  cmd = reg.Add(*group, "delete", "Delete a site", [del](Context& ctx) {
    return Delete(ctx, fmt::format("/api/v1/sites/{}", del->id), "site", del->id);
  });
  AddIdArg(cmd, del->id, "ID", "site id");
}

// ---- contacts

const std::vector<std::string> kContactOrder = {
    "id",    "client_id",  "site_id",    "name",         "title",      "email",
    "phone", "is_primary", "is_billing", "is_technical", "created_at", "updated_at"};

void AddContactFields(CLI::App* cmd, BodyFields& body, bool create) {
  auto* name = body.String(cmd, "--name", "name", "full name");
  if (create) {
    name->required();
  }
  body.String(cmd, "--email", "email", "e-mail address");
  body.String(cmd, "--phone", "phone", "phone number");
  body.String(cmd, "--title", "title", "job title");
  auto* site = body.Int(cmd, "--site", "site_id", "the site this contact works at", 1, INT64_MAX);
  if (!create) {
    body.Constant(cmd, "--no-site", "site_id", nullptr, "not tied to a site")->excludes(site);
  }
  body.Bool(cmd, "--primary,!--no-primary", "is_primary", "the client's primary contact");
  body.Bool(cmd, "--billing,!--no-billing", "is_billing", "receives invoices");
  body.Bool(cmd, "--technical,!--no-technical", "is_technical", "technical contact");
}

std::string ContactFlags(const Json& c) {
  std::string out;
  for (const auto& [key, word] :
       {std::pair{"is_primary", "primary"}, std::pair{"is_billing", "billing"},
        std::pair{"is_technical", "technical"}}) {
    if (BoolOf(c, key)) {
      out += out.empty() ? word : std::string(",") + word;
    }
  }
  return out.empty() ? "-" : out;
}

void AddContacts(CLI::App& app, Registry& reg) {
  CLI::App* group = reg.Group(app, "contacts", "Contacts (people at a client)");

  auto list = std::make_shared<Flags>();
  CLI::App* cmd =
      reg.Add(*group, "list", "List the contacts of a client", [list](Context& ctx) -> Status {
        VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
        QueryString qs;
        AddListQuery(qs, list->list);
        if (list->site > 0) {
          qs.Add("site_id", list->site);
        }
        qs.Add("flag", list->flag);
        VIGIL_ASSIGN_OR_RETURN(
            Json page, api->Get(fmt::format("/api/v1/clients/{}/contacts{}", list->id, qs.str())));
        return PrintPage(ctx, page,
                         {{"ID", "id"},
                          {"NAME", "name"},
                          {"EMAIL", "email"},
                          {"PHONE", "phone"},
                          {"TITLE", "title"},
                          {"SITE", "site_id"},
                          {"FLAGS", "", ContactFlags}},
                         "contacts");
      });
  AddIdArg(cmd, list->id, "CLIENT_ID", "client id");
  AddListFlags(cmd, list->list, "id, name, email, created_at", true);
  cmd->add_option("--site", list->site, "only contacts of this site")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  cmd->add_option("--flag", list->flag, "only primary, billing or technical contacts")
      ->check(CLI::IsMember({"primary", "billing", "technical"}));

  auto create = std::make_shared<Flags>();
  cmd = reg.Add(*group, "create", "Add a contact to a client", [create](Context& ctx) {
    return Create(ctx, fmt::format("/api/v1/clients/{}/contacts", create->id), create->body,
                  "contact");
  });
  AddIdArg(cmd, create->id, "CLIENT_ID", "client id");
  AddContactFields(cmd, create->body, true);

  auto show = std::make_shared<Flags>();
  cmd = reg.Add(*group, "show", "Show one contact", [show](Context& ctx) {
    return Show(ctx, fmt::format("/api/v1/contacts/{}", show->id), kContactOrder);
  });
  AddIdArg(cmd, show->id, "ID", "contact id");

  auto update = std::make_shared<Flags>();
  cmd =
      reg.Add(*group, "update", "Change a contact (only the fields given)", [update](Context& ctx) {
        return Update(ctx, fmt::format("/api/v1/contacts/{}", update->id), update->body, "contact");
      });
  AddIdArg(cmd, update->id, "ID", "contact id");
  AddContactFields(cmd, update->body, false);

  auto del = std::make_shared<Flags>();
  cmd = reg.Add(*group, "delete", "Delete a contact", [del](Context& ctx) {
    return Delete(ctx, fmt::format("/api/v1/contacts/{}", del->id), "contact", del->id);
  });
  AddIdArg(cmd, del->id, "ID", "contact id");
}

}  // namespace

void AddClientCommands(CLI::App& app, Registry& reg) {
  AddClients(app, reg);
  AddSites(app, reg);
  AddContacts(app, reg);
}

}  // namespace vigil::cli
