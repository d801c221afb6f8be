#include "storage/accounts_repo.h"

#include <fmt/format.h>

#include "domain/accounts_json.h"
#include "domain/validate.h"
#include "storage/repo_util.h"

namespace vigil::storage {

using domain::ApiToken;
using domain::AuditEntry;
using domain::Client;
using domain::Contact;
using domain::Site;
using domain::User;
using nlohmann::json;

const std::vector<std::string_view> kClientSortKeys = {"id", "name", "created_at", "updated_at",
                                                       "employees"};
const std::vector<std::string_view> kSiteSortKeys = {"id", "name", "created_at"};
const std::vector<std::string_view> kContactSortKeys = {"id", "name", "email", "created_at"};
const std::vector<std::string_view> kUserSortKeys = {"id",   "email",      "name",
                                                     "role", "created_at", "last_login_at"};
const std::vector<std::string_view> kTokenSortKeys = {"id", "name", "created_at", "last_used_at"};
const std::vector<std::string_view> kAuditSortKeys = {"id", "at"};

namespace {

// ---- clients

constexpr std::string_view kClientCols =
    "id, name, status, timezone, business_hours, employees, currency, downtime_per_hour_minor, "
    "staff_affected, loaded_hourly_cost_minor, revenue_per_hour_minor, notes, created_at, "
    "updated_at";

domain::BusinessHours ParseHours(const std::string& text) {
  domain::BusinessHours h;
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) {
    return h;
  }
  for (int d = 0; d < 7; ++d) {
    auto it = j.find(std::string(domain::kWeekdayKeys[d]));
    if (it == j.end() || !it->is_array() || it->size() != 2 || !(*it)[0].is_string() ||
        !(*it)[1].is_string()) {
      continue;
    }
    auto open = domain::ParseClock((*it)[0].get<std::string>());
    auto close = domain::ParseClock((*it)[1].get<std::string>());
    if (open && close) {
      h.days[d] = domain::DayHours{*open, *close};
    }
  }
  return h;
}

Client ClientFromRow(const Row& r) {
  Client c;
  c.id = ClientId{r.Int(0)};
  c.name = r.Text(1);
  c.status =
      r.Text(2) == "archived" ? domain::ClientStatus::kArchived : domain::ClientStatus::kActive;
  c.timezone = r.Text(3);
  c.business_hours = ParseHours(r.Text(4));
  c.employees = r.OptInt(5);
  c.currency = r.Text(6);
  c.downtime.per_hour_minor = r.OptInt(7);
  c.downtime.staff_affected = r.OptInt(8);
  c.downtime.loaded_hourly_cost_minor = r.OptInt(9);
  c.downtime.revenue_per_hour_minor = r.OptInt(10);
  c.notes = r.Text(11);
  c.created_at = FromUnixMillis(r.Int(12));
  c.updated_at = FromUnixMillis(r.Int(13));
  return c;
}

Result<Client> LoadClient(Tx& tx, ClientId id, ClientScope scope) {
  if (scope && *scope != id) {
    return NotFound(fmt::format("client {} not found", Raw(id)));
  }
  auto rows = tx.Query(fmt::format("SELECT {} FROM clients WHERE id = ?", kClientCols), {Raw(id)});
  if (!rows) {
    return rows.error();
  }
  if (rows->empty()) {
    return NotFound(fmt::format("client {} not found", Raw(id)));
  }
  return ClientFromRow((*rows)[0]);
}

std::vector<Value> ClientValues(const Client& c) {
  return {c.name,
          domain::AsciiLower(c.name),
          std::string(domain::ClientStatusName(c.status)),
          c.timezone,
          Dump(domain::ToJson(c.business_hours)),
          Opt(c.employees),
          c.currency,
          Opt(c.downtime.per_hour_minor),
          Opt(c.downtime.staff_affected),
          Opt(c.downtime.loaded_hourly_cost_minor),
          Opt(c.downtime.revenue_per_hour_minor),
          c.notes};
}

Status NameTaken(Status st, std::string_view what) {
  if (st.code() == ErrorCode::kAlreadyExists) {
    Status out(ErrorCode::kAlreadyExists, fmt::format("a {} with this name already exists", what));
    out.WithField("name", "is already taken");
    return out;
  }
  return st;
}

// ---- sites

constexpr std::string_view kSiteCols =
    "id, client_id, name, address, timezone, notes, created_at, updated_at";

Site SiteFromRow(const Row& r) {
  Site s;
  s.id = SiteId{r.Int(0)};
  s.client_id = ClientId{r.Int(1)};
  s.name = r.Text(2);
  s.address = r.Text(3);
  s.timezone = r.OptText(4);
  s.notes = r.Text(5);
  s.created_at = FromUnixMillis(r.Int(6));
  s.updated_at = FromUnixMillis(r.Int(7));
  return s;
}

Result<Site> LoadSite(Tx& tx, SiteId id, ClientScope scope) {
  auto rows = tx.Query(fmt::format("SELECT {} FROM sites WHERE id = ?", kSiteCols), {Raw(id)});
  if (!rows) {
    return rows.error();
  }
  if (rows->empty()) {
    return NotFound(fmt::format("site {} not found", Raw(id)));
  }
  Site s = SiteFromRow((*rows)[0]);
  if (scope && *scope != s.client_id) {
    return NotFound(fmt::format("site {} not found", Raw(id)));
  }
  return s;
}

// ---- contacts

constexpr std::string_view kContactCols =
    "id, client_id, site_id, name, email, phone, title, is_primary, is_billing, is_technical, "
    "created_at, updated_at";

Contact ContactFromRow(const Row& r) {
  Contact c;
  c.id = ContactId{r.Int(0)};
  c.client_id = ClientId{r.Int(1)};
  if (auto s = r.OptInt(2)) {
    c.site_id = SiteId{*s};
  }
  c.name = r.Text(3);
  c.email = r.Text(4);
  c.phone = r.Text(5);
  c.title = r.Text(6);
  c.is_primary = r.Bool(7);
  c.is_billing = r.Bool(8);
  c.is_technical = r.Bool(9);
  c.created_at = FromUnixMillis(r.Int(10));
  c.updated_at = FromUnixMillis(r.Int(11));
  return c;
}

Result<Contact> LoadContact(Tx& tx, ContactId id, ClientScope scope) {
  auto rows =
      tx.Query(fmt::format("SELECT {} FROM contacts WHERE id = ?", kContactCols), {Raw(id)});
  if (!rows) {
    return rows.error();
  }
  if (rows->empty()) {
    return NotFound(fmt::format("contact {} not found", Raw(id)));
  }
  Contact c = ContactFromRow((*rows)[0]);
  if (scope && *scope != c.client_id) {
    return NotFound(fmt::format("contact {} not found", Raw(id)));
  }
  return c;
}

Status CheckContactSite(Tx& tx, const Contact& c) {
  if (!c.site_id) {
    return Status::Ok();
  }
  auto site = LoadSite(tx, *c.site_id, c.client_id);
  if (!site) {
    if (site.error().code() == ErrorCode::kNotFound) {
      return FieldInvalid("site_id", "must be a site of the same client");
    }
    return site.error();
  }
  return Status::Ok();
}

// ---- users

constexpr std::string_view kUserCols =
    "id, email, name, role, client_id, disabled, totp_enabled, created_at, updated_at, "
    "last_login_at";

User UserFromRow(const Row& r) {
  User u;
  u.id = UserId{r.Int(0)};
  u.email = r.Text(1);
  u.name = r.Text(2);
  u.role = domain::ParseRole(r.Text(3)).value_or(domain::Role::kClientUser);
  if (auto c = r.OptInt(4)) {
    u.client_id = ClientId{*c};
  }
  u.disabled = r.Bool(5);
  u.totp_enabled = r.Bool(6);
  u.created_at = FromUnixMillis(r.Int(7));
  u.updated_at = FromUnixMillis(r.Int(8));
  u.last_login_at = OptTime(r, 9);
  return u;
}

Result<User> LoadUser(Tx& tx, UserId id, ClientScope scope) {
  auto rows = tx.Query(fmt::format("SELECT {} FROM users WHERE id = ?", kUserCols), {Raw(id)});
  if (!rows) {
    return rows.error();
  }
  if (rows->empty()) {
    return NotFound(fmt::format("user {} not found", Raw(id)));
  }
  User u = UserFromRow((*rows)[0]);
  if (scope && u.client_id != scope) {
    return NotFound(fmt::format("user {} not found", Raw(id)));
  }
  return u;
}

Result<UserCredentials> LoadCredentials(Tx& tx, std::string_view where, Value key) {
  auto rows = tx.Query(
      fmt::format("SELECT {}, password_hash, totp_secret, totp_last_step FROM users WHERE {}",
                  kUserCols, where),
      {std::move(key)});
  if (!rows) {
    return rows.error();
  }
  if (rows->empty()) {
    return NotFound("user not found");
  }
  const Row& r = (*rows)[0];
  UserCredentials c;
  c.user = UserFromRow(r);
  c.password_hash = r.Text(10);
  c.totp_secret = r.OptText(11);
  c.totp_last_step = r.Int(12);
  return c;
}

// ---- tokens

constexpr std::string_view kTokenCols =
    "id, user_id, name, prefix, scope, created_at, expires_at, last_used_at, revoked_at";

ApiToken TokenFromRow(const Row& r, size_t o = 0) {
  ApiToken t;
  t.id = TokenId{r.Int(o + 0)};
  t.user_id = UserId{r.Int(o + 1)};
  t.name = r.Text(o + 2);
  t.prefix = r.Text(o + 3);
  t.scope = domain::ParseTokenScope(r.Text(o + 4)).value_or(domain::TokenScope::kRead);
  t.created_at = FromUnixMillis(r.Int(o + 5));
  t.expires_at = OptTime(r, o + 6);
  t.last_used_at = OptTime(r, o + 7);
  t.revoked_at = OptTime(r, o + 8);
  return t;
}

}  // namespace

// ================= settings

Result<std::optional<std::string>> AccountsRepo::GetSetting(const std::string& key) {
  std::optional<std::string> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT value FROM settings WHERE key = ?", {key}));
    if (!rows.empty()) {
      out = rows[0].Text(0);
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return out;
}

Status AccountsRepo::SetSetting(const std::string& key, const std::string& value,
                                const AuditContext& audit) {
  return db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT value FROM settings WHERE key = ?", {key}));
    std::string before = rows.empty() ? "" : Dump(json{{key, rows[0].Text(0)}});
    if (rows.empty()) {
      VIGIL_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO settings (key, value) VALUES (?, ?)", {key, value}).status());
    } else {
      VIGIL_RETURN_IF_ERROR(
          tx.Exec("UPDATE settings SET value = ? WHERE key = ?", {value, key}).status());
    }
    return AppendAudit(tx, audit, "setting.update", "setting", std::nullopt, std::nullopt, before,
                       Dump(json{{key, value}}));
  });
}

// ================= clients

Result<Client> AccountsRepo::CreateClient(Client c, const AuditContext& audit) {
  c.created_at = c.updated_at = audit.now;
  Status st = db_.Write([&](Tx& tx) -> Status {
    auto values = ClientValues(c);
    values.push_back(Ms(c.created_at));
    values.push_back(Ms(c.updated_at));
    auto rows = tx.Query(
        "INSERT INTO clients (name, name_key, status, timezone, business_hours, employees, "
        "currency, downtime_per_hour_minor, staff_affected, loaded_hourly_cost_minor, "
        "revenue_per_hour_minor, notes, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        values);
    if (!rows) {
      return NameTaken(rows.error(), "client");
    }
    c.id = ClientId{(*rows)[0].Int(0)};
    return AppendAudit(tx, audit, "client.create", "client", Raw(c.id), c.id, "",
                       Dump(domain::ToJson(c)));
  });
  if (!st.ok()) {
    return st;
  }
  return c;
}

Result<Client> AccountsRepo::GetClient(ClientId id, ClientScope scope) {
  std::optional<Client> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(out, LoadClient(tx, id, scope));
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return *out;
}

Result<Page<Client>> AccountsRepo::ListClients(const ListQuery& q, ClientScope scope) {
  ListSql l;
  if (scope) {
    l.Add("id = ?", {Raw(*scope)});
  }
  for (const auto& [k, v] : q.filters) {
    if (k == "status") {
      l.Add("status = ?", {v});
    }
  }
  l.Search(q.search, {"name", "notes"});
  return RunList<Client>(db_, kClientCols, "clients", l, q, "name", ClientFromRow);
}

Result<Client> AccountsRepo::UpdateClient(ClientId id, ClientScope scope,
                                          const std::function<Status(Client&)>& mutate,
                                          const AuditContext& audit) {
  std::optional<Client> out;
  Status st = db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Client before, LoadClient(tx, id, scope));
    Client after = before;
    VIGIL_RETURN_IF_ERROR(mutate(after));
    after.id = before.id;
    after.created_at = before.created_at;
    after.updated_at = audit.now;
    auto values = ClientValues(after);
    values.push_back(Ms(after.updated_at));
    values.push_back(Raw(id));
    auto r = tx.Exec(
        "UPDATE clients SET name = ?, name_key = ?, status = ?, timezone = ?, business_hours = ?, "
        "employees = ?, currency = ?, downtime_per_hour_minor = ?, staff_affected = ?, "
        "loaded_hourly_cost_minor = ?, revenue_per_hour_minor = ?, notes = ?, updated_at = ? "
        "WHERE id = ?",
        values);
    if (!r) {
      return NameTaken(r.error(), "client");
    }
    out = after;
    return AppendAudit(tx, audit, "client.update", "client", Raw(id), id,
                       Dump(domain::ToJson(before)), Dump(domain::ToJson(after)));
  });
  if (!st.ok()) {
    return st;
  }
  return *out;
}

// ================= sites

Result<Site> AccountsRepo::CreateSite(Site s, ClientScope scope, const AuditContext& audit) {
  s.created_at = s.updated_at = audit.now;
  Status st = db_.Write([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(LoadClient(tx, s.client_id, scope).status());
    auto rows = tx.Query(
        "INSERT INTO sites (client_id, name, address, timezone, notes, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {Raw(s.client_id), s.name, s.address, OptStr(s.timezone), s.notes, Ms(s.created_at),
         Ms(s.updated_at)});
    if (!rows) {
      return NameTaken(rows.error(), "site");
    }
    s.id = SiteId{(*rows)[0].Int(0)};
    return AppendAudit(tx, audit, "site.create", "site", Raw(s.id), s.client_id, "",
                       Dump(domain::ToJson(s)));
  });
  if (!st.ok()) {
    return st;
  }
  return s;
}

Result<Site> AccountsRepo::GetSite(SiteId id, ClientScope scope) {
  std::optional<Site> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(out, LoadSite(tx, id, scope));
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return *out;
}

Result<Page<Site>> AccountsRepo::ListSites(ClientId client, const ListQuery& q, ClientScope scope) {
  if (scope && *scope != client) {
    return NotFound(fmt::format("client {} not found", Raw(client)));
  }
  VIGIL_RETURN_IF_ERROR(GetClient(client, scope).status());
  ListSql l;
  l.Add("client_id = ?", {Raw(client)});
  l.Search(q.search, {"name", "address"});
  return RunList<Site>(db_, kSiteCols, "sites", l, q, "name", SiteFromRow);
}

Result<Site> AccountsRepo::UpdateSite(SiteId id, ClientScope scope,
                                      const std::function<Status(Site&)>& mutate,
                                      const AuditContext& audit) {
  std::optional<Site> out;
  Status st = db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Site before, LoadSite(tx, id, scope));
    Site after = before;
    VIGIL_RETURN_IF_ERROR(mutate(after));
    after.id = before.id;
    after.client_id = before.client_id;
    after.created_at = before.created_at;
    after.updated_at = audit.now;
    auto r = tx.Exec(
        "UPDATE sites SET name = ?, address = ?, timezone = ?, notes = ?, updated_at = ? "
        "WHERE id = ?",
        {after.name, after.address, OptStr(after.timezone), after.notes, Ms(after.updated_at),
         Raw(id)});
    if (!r) {
      return NameTaken(r.error(), "site");
    }
    out = after;
    return AppendAudit(tx, audit, "site.update", "site", Raw(id), after.client_id,
                       Dump(domain::ToJson(before)), Dump(domain::ToJson(after)));
  });
  if (!st.ok()) {
    return st;
  }
  return *out;
}

Status AccountsRepo::DeleteSite(SiteId id, ClientScope scope, const AuditContext& audit) {
  return db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Site before, LoadSite(tx, id, scope));
    VIGIL_ASSIGN_OR_RETURN(auto n,
                           tx.Query("SELECT COUNT(*) FROM contacts WHERE site_id = ?", {Raw(id)}));
    if (n[0].Int(0) > 0) {
      return FailedPrecondition(fmt::format(
          "site {} still has {} contacts; move or delete them first", Raw(id), n[0].Int(0)));
    }
    VIGIL_RETURN_IF_ERROR(tx.Exec("DELETE FROM sites WHERE id = ?", {Raw(id)}).status());
    return AppendAudit(tx, audit, "site.delete", "site", Raw(id), before.client_id,
                       Dump(domain::ToJson(before)), "");
  });
}

// ================= contacts

Result<Contact> AccountsRepo::CreateContact(Contact c, ClientScope scope,
                                            const AuditContext& audit) {
  c.created_at = c.updated_at = audit.now;
  Status st = db_.Write([&](Tx& tx) -> Status {
    VIGIL_RETURN_IF_ERROR(LoadClient(tx, c.client_id, scope).status());
    VIGIL_RETURN_IF_ERROR(CheckContactSite(tx, c));
    VIGIL_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query("INSERT INTO contacts (client_id, site_id, name, email, phone, title, "
                 "is_primary, is_billing, is_technical, created_at, updated_at) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                 {Raw(c.client_id), c.site_id ? Value(Raw(*c.site_id)) : Value(), c.name, c.email,
                  c.phone, c.title, int64_t{c.is_primary}, int64_t{c.is_billing},
                  int64_t{c.is_technical}, Ms(c.created_at), Ms(c.updated_at)}));
    c.id = ContactId{rows[0].Int(0)};
    return AppendAudit(tx, audit, "contact.create", "contact", Raw(c.id), c.client_id, "",
                       Dump(domain::ToJson(c)));
  });
  if (!st.ok()) {
    return st;
  }
  return c;
}

Result<Contact> AccountsRepo::GetContact(ContactId id, ClientScope scope) {
  std::optional<Contact> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(out, LoadContact(tx, id, scope));
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return *out;
}

Result<Page<Contact>> AccountsRepo::ListContacts(ClientId client, const ListQuery& q,
                                                 ClientScope scope) {
  if (scope && *scope != client) {
    return NotFound(fmt::format("client {} not found", Raw(client)));
  }
  VIGIL_RETURN_IF_ERROR(GetClient(client, scope).status());
  ListSql l;
  l.Add("client_id = ?", {Raw(client)});
  for (const auto& [k, v] : q.filters) {
    if (k == "site_id") {
      l.Add("site_id = ?", {static_cast<int64_t>(std::stoll(v))});
    }
    if (k == "flag" && v == "primary") {
      l.Add("is_primary = 1");
    }
    if (k == "flag" && v == "billing") {
      l.Add("is_billing = 1");
    }
    if (k == "flag" && v == "technical") {
      l.Add("is_technical = 1");
    }
  }
  l.Search(q.search, {"name", "email", "phone", "title"});
  return RunList<Contact>(db_, kContactCols, "contacts", l, q, "name", ContactFromRow);
}

Result<Contact> AccountsRepo::UpdateContact(ContactId id, ClientScope scope,
                                            const std::function<Status(Contact&)>& mutate,
                                            const AuditContext& audit) {
  std::optional<Contact> out;
  Status st = db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Contact before, LoadContact(tx, id, scope));
    Contact after = before;
    VIGIL_RETURN_IF_ERROR(mutate(after));
    after.id = before.id;
    after.client_id = before.client_id;
    after.created_at = before.created_at;
    after.updated_at = audit.now;
    VIGIL_RETURN_IF_ERROR(CheckContactSite(tx, after));
    VIGIL_RETURN_IF_ERROR(
        tx.Exec("UPDATE contacts SET site_id = ?, name = ?, email = ?, phone = ?, title = ?, "
                "is_primary = ?, is_billing = ?, is_technical = ?, updated_at = ? WHERE id = ?",
                {after.site_id ? Value(Raw(*after.site_id)) : Value(), after.name, after.email,
                 after.phone, after.title, int64_t{after.is_primary}, int64_t{after.is_billing},
                 int64_t{after.is_technical}, Ms(after.updated_at), Raw(id)})
            .status());
    out = after;
    return AppendAudit(tx, audit, "contact.update", "contact", Raw(id), after.client_id,
                       Dump(domain::ToJson(before)), Dump(domain::ToJson(after)));
  });
  if (!st.ok()) {
    return st;
  }
  return *out;
}

Status AccountsRepo::DeleteContact(ContactId id, ClientScope scope, const AuditContext& audit) {
  return db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(Contact before, LoadContact(tx, id, scope));
    VIGIL_RETURN_IF_ERROR(tx.Exec("DELETE FROM contacts WHERE id = ?", {Raw(id)}).status());
    return AppendAudit(tx, audit, "contact.delete", "contact", Raw(id), before.client_id,
                       Dump(domain::ToJson(before)), "");
  });
}

// ================= users

Result<User> AccountsRepo::CreateUser(User u, const std::string& password_hash,
                                      const AuditContext& audit) {
  u.created_at = u.updated_at = audit.now;
  u.email = domain::AsciiLower(u.email);
  Status st = db_.Write([&](Tx& tx) -> Status {
    if (u.client_id && !LoadClient(tx, *u.client_id, std::nullopt)) {
      return FieldInvalid("client_id", "must name an existing client");
    }
    auto rows = tx.Query(
        "INSERT INTO users (email, name, role, client_id, password_hash, disabled, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {u.email, u.name, std::string(domain::RoleName(u.role)),
         u.client_id ? Value(Raw(*u.client_id)) : Value(), password_hash, int64_t{u.disabled},
         Ms(u.created_at), Ms(u.updated_at)});
    if (!rows) {
      if (rows.error().code() == ErrorCode::kAlreadyExists) {
        Status s(ErrorCode::kAlreadyExists, "a user with this e-mail address already exists");
        s.WithField("email", "is already taken");
        return s;
      }
      return rows.error();
    }
    u.id = UserId{(*rows)[0].Int(0)};
    return AppendAudit(tx, audit, "user.create", "user", Raw(u.id), u.client_id, "",
                       Dump(domain::ToJson(u)));
  });
  if (!st.ok()) {
    return st;
  }
  return u;
}

Result<User> AccountsRepo::GetUser(UserId id, ClientScope scope) {
  std::optional<User> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(out, LoadUser(tx, id, scope));
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return *out;
}

Result<Page<User>> AccountsRepo::ListUsers(const ListQuery& q, ClientScope scope) {
  ListSql l;
  if (scope) {
    l.Add("client_id = ?", {Raw(*scope)});
  }
  for (const auto& [k, v] : q.filters) {
    if (k == "role") {
      l.Add("role = ?", {v});
    }
    if (k == "client_id") {
      l.Add("client_id = ?", {static_cast<int64_t>(std::stoll(v))});
    }
    if (k == "disabled") {
      l.Add("disabled = ?", {int64_t{v == "true"}});
    }
  }
  l.Search(q.search, {"email", "name"});
  return RunList<User>(db_, kUserCols, "users", l, q, "email", UserFromRow);
}

Result<User> AccountsRepo::UpdateUser(UserId id, ClientScope scope,
                                      const std::function<Status(User&)>& mutate,
                                      const AuditContext& audit) {
  std::optional<User> out;
  Status st = db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(User before, LoadUser(tx, id, scope));
    User after = before;
    VIGIL_RETURN_IF_ERROR(mutate(after));
    after.id = before.id;
    after.email = domain::AsciiLower(after.email);
    after.created_at = before.created_at;
    after.updated_at = audit.now;
    if (after.client_id && !LoadClient(tx, *after.client_id, std::nullopt)) {
      return FieldInvalid("client_id", "must name an existing client");
    }
    // The last active owner cannot be demoted or disabled.
    if (before.role == domain::Role::kOwner && !before.disabled &&
        (after.role != domain::Role::kOwner || after.disabled)) {
      // Touching every active owner's row first takes their row locks (PostgreSQL), so two
      // concurrent demotions of different owners cannot both see two owners and both commit.
      VIGIL_ASSIGN_OR_RETURN(
          int64_t owners,
          tx.Exec(
              "UPDATE users SET updated_at = updated_at WHERE role = 'owner' AND disabled = 0"));
      if (owners <= 1) {
        return FailedPrecondition("the last active owner cannot be demoted or disabled");
      }
    }
    auto r = tx.Exec(
        "UPDATE users SET email = ?, name = ?, role = ?, client_id = ?, disabled = ?, "
        "updated_at = ? WHERE id = ?",
        {after.email, after.name, std::string(domain::RoleName(after.role)),
         after.client_id ? Value(Raw(*after.client_id)) : Value(), int64_t{after.disabled},
         Ms(after.updated_at), Raw(id)});
    if (!r) {
      if (r.error().code() == ErrorCode::kAlreadyExists) {
        Status s(ErrorCode::kAlreadyExists, "a user with this e-mail address already exists");
        s.WithField("email", "is already taken");
        return s;
      }
      return r.error();
    }
    if (after.disabled && !before.disabled) {
      VIGIL_RETURN_IF_ERROR(tx.Exec("DELETE FROM sessions WHERE user_id = ?", {Raw(id)}).status());
    }
    out = after;
    return AppendAudit(tx, audit, "user.update", "user", Raw(id), after.client_id,
                       Dump(domain::ToJson(before)), Dump(domain::ToJson(after)));
  });
  if (!st.ok()) {
    return st;
  }
  return *out;
}

Result<int64_t> AccountsRepo::CountUsers() {
  int64_t n = 0;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT COUNT(*) FROM users"));
    n = rows[0].Int(0);
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return n;
}

Result<int64_t> AccountsRepo::CountActiveOwners() {
  int64_t n = 0;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT COUNT(*) FROM users WHERE role = 'owner' AND disabled = 0"));
    n = rows[0].Int(0);
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return n;
}

Result<UserCredentials> AccountsRepo::GetCredentialsByEmail(const std::string& email_lower) {
  std::optional<UserCredentials> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(out, LoadCredentials(tx, "email = ?", email_lower));
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return *out;
}

Result<UserCredentials> AccountsRepo::GetCredentials(UserId id) {
  std::optional<UserCredentials> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(out, LoadCredentials(tx, "id = ?", Raw(id)));
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return *out;
}

Status AccountsRepo::SetPassword(UserId id, const std::string& password_hash,
                                 std::optional<SessionId> keep_session, const AuditContext& audit) {
  return db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(User u, LoadUser(tx, id, std::nullopt));
    VIGIL_RETURN_IF_ERROR(tx.Exec("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
                                  {password_hash, Ms(audit.now), Raw(id)})
                              .status());
    VIGIL_RETURN_IF_ERROR(tx.Exec("DELETE FROM sessions WHERE user_id = ? AND id <> ?",
                                  {Raw(id), keep_session ? Raw(*keep_session) : int64_t{-1}})
                              .status());
    return AppendAudit(tx, audit, "user.password_change", "user", Raw(id), u.client_id, "", "");
  });
}

Status AccountsRepo::RecordLogin(UserId id, TimePoint now) {
  return db_.Write([&](Tx& tx) -> Status {
    return tx.Exec("UPDATE users SET last_login_at = ? WHERE id = ?", {Ms(now), Raw(id)}).status();
  });
}

// ================= TOTP

Status AccountsRepo::SetPendingTotp(UserId id, const std::string& secret_base32) {
  return db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        auto n, tx.Exec("UPDATE users SET totp_secret = ? WHERE id = ? AND totp_enabled = 0",
                        {secret_base32, Raw(id)}));
    if (n == 0) {
      return FailedPrecondition("two-factor authentication is already enabled");
    }
    return Status::Ok();
  });
}

Status AccountsRepo::EnableTotp(UserId id, const std::string& secret_base32, int64_t step,
                                const std::vector<std::string>& code_hashes,
                                std::optional<SessionId> keep_session, const AuditContext& audit) {
  return db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(User u, LoadUser(tx, id, std::nullopt));
    // Only the secret the code was checked against, and only once.
    VIGIL_ASSIGN_OR_RETURN(
        int64_t changed,
        tx.Exec("UPDATE users SET totp_enabled = 1, totp_last_step = ?, updated_at = ? "
                "WHERE id = ? AND totp_enabled = 0 AND totp_secret = ?",
                {step, Ms(audit.now), Raw(id), secret_base32}));
    if (changed != 1) {
      return FailedPrecondition("two-factor set-up changed meanwhile; start it again");
    }
    // A second factor protects the account from now on: other sessions must sign in again.
    VIGIL_RETURN_IF_ERROR(tx.Exec("DELETE FROM sessions WHERE user_id = ? AND id <> ?",
                                  {Raw(id), keep_session ? Raw(*keep_session) : int64_t{-1}})
                              .status());
    VIGIL_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM recovery_codes WHERE user_id = ?", {Raw(id)}).status());
    for (const auto& h : code_hashes) {
      VIGIL_RETURN_IF_ERROR(
          tx.Exec("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)", {Raw(id), h})
              .status());
    }
    return AppendAudit(tx, audit, "user.totp_enable", "user", Raw(id), u.client_id, "", "");
  });
}

Status AccountsRepo::DisableTotp(UserId id, const AuditContext& audit) {
  return db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(User u, LoadUser(tx, id, std::nullopt));
    VIGIL_RETURN_IF_ERROR(
        tx.Exec("UPDATE users SET totp_enabled = 0, totp_secret = NULL, updated_at = ? "
                "WHERE id = ?",
                {Ms(audit.now), Raw(id)})
            .status());
    VIGIL_RETURN_IF_ERROR(
        tx.Exec("DELETE FROM recovery_codes WHERE user_id = ?", {Raw(id)}).status());
    return AppendAudit(tx, audit, "user.totp_disable", "user", Raw(id), u.client_id, "", "");
  });
}

Result<bool> AccountsRepo::ConsumeTotpStep(UserId id, int64_t step) {
  bool ok = false;
  Status st = db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        auto n, tx.Exec("UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?",
                        {step, Raw(id), step}));
    ok = n == 1;
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return ok;
}

Result<bool> AccountsRepo::ConsumeRecoveryCode(UserId id, const std::string& code_hash,
                                               TimePoint now) {
  bool ok = false;
  Status st = db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(auto n,
                           tx.Exec("UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND "
                                   "code_hash = ? AND used_at IS NULL",
                                   {Ms(now), Raw(id), code_hash}));
    ok = n >= 1;
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return ok;
}

Result<int64_t> AccountsRepo::CountUnusedRecoveryCodes(UserId id) {
  int64_t n = 0;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query("SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL",
                 {Raw(id)}));
    n = rows[0].Int(0);
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return n;
}

// ================= sessions

Result<SessionId> AccountsRepo::CreateSession(UserId user, const std::string& token_hash,
                                              const std::string& csrf_token, TimePoint now,
                                              TimePoint expires_at,
                                              const std::string& remote_address) {
  SessionId id{};
  Status st = db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query(
            "INSERT INTO sessions (user_id, token_hash, csrf_token, created_at, "
            "last_seen_at, expires_at, remote_address) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            {Raw(user), token_hash, csrf_token, Ms(now), Ms(now), Ms(expires_at), remote_address}));
    id = SessionId{rows[0].Int(0)};
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return id;
}

Result<SessionRecord> AccountsRepo::FindSession(const std::string& token_hash, TimePoint now) {
  std::optional<SessionRecord> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT id, user_id, csrf_token, expires_at, last_seen_at, created_at "
                            "FROM sessions WHERE token_hash = ? AND expires_at > ?",
                            {token_hash, Ms(now)}));
    if (rows.empty()) {
      return NotFound("session not found or expired");
    }
    const Row& r = rows[0];
    out =
        SessionRecord{SessionId{r.Int(0)},      UserId{r.Int(1)},         r.Text(2),
                      FromUnixMillis(r.Int(3)), FromUnixMillis(r.Int(4)), FromUnixMillis(r.Int(5))};
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return *out;
}

Status AccountsRepo::TouchSession(SessionId id, TimePoint now, TimePoint expires_at) {
  return db_.Write([&](Tx& tx) -> Status {
    return tx
        .Exec("UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?",
              {Ms(now), Ms(expires_at), Raw(id)})
        .status();
  });
}

Status AccountsRepo::DeleteSession(SessionId id) {
  return db_.Write([&](Tx& tx) -> Status {
    return tx.Exec("DELETE FROM sessions WHERE id = ?", {Raw(id)}).status();
  });
}

Status AccountsRepo::DeleteUserSessions(UserId user) {
  return db_.Write([&](Tx& tx) -> Status {
    return tx.Exec("DELETE FROM sessions WHERE user_id = ?", {Raw(user)}).status();
  });
}

Result<int64_t> AccountsRepo::DeleteExpiredSessions(TimePoint now) {
  int64_t n = 0;
  Status st = db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(n, tx.Exec("DELETE FROM sessions WHERE expires_at <= ?", {Ms(now)}));
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return n;
}

// ================= tokens

Result<ApiToken> AccountsRepo::CreateToken(ApiToken t, const std::string& token_hash,
                                           const AuditContext& audit) {
  t.created_at = audit.now;
  Status st = db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(User u, LoadUser(tx, t.user_id, std::nullopt));
    VIGIL_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query(
            "INSERT INTO api_tokens (user_id, name, prefix, token_hash, scope, created_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            {Raw(t.user_id), t.name, t.prefix, token_hash,
             std::string(domain::TokenScopeName(t.scope)), Ms(t.created_at), OptMs(t.expires_at)}));
    t.id = TokenId{rows[0].Int(0)};
    return AppendAudit(tx, audit, "token.create", "token", Raw(t.id), u.client_id, "",
                       Dump(domain::ToJson(t)));
  });
  if (!st.ok()) {
    return st;
  }
  return t;
}

Result<TokenRecord> AccountsRepo::FindToken(const std::string& token_hash, TimePoint now) {
  std::optional<TokenRecord> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    std::string cols;
    for (std::string_view c : {"t.id", "t.user_id", "t.name", "t.prefix", "t.scope", "t.created_at",
                               "t.expires_at", "t.last_used_at", "t.revoked_at"}) {
      if (!cols.empty()) {
        cols += ", ";
      }
      cols += c;
    }
    VIGIL_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query(fmt::format("SELECT {} FROM api_tokens t WHERE t.token_hash = ? AND "
                             "t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)",
                             cols),
                 {token_hash, Ms(now)}));
    if (rows.empty()) {
      return NotFound("token not found, revoked or expired");
    }
    ApiToken t = TokenFromRow(rows[0]);
    VIGIL_ASSIGN_OR_RETURN(User u, LoadUser(tx, t.user_id, std::nullopt));
    if (u.disabled) {
      return NotFound("token's user is disabled");
    }
    out = TokenRecord{t, u};
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return *out;
}

Result<ApiToken> AccountsRepo::GetToken(TokenId id) {
  std::optional<ApiToken> out;
  Status st = db_.Read([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query(fmt::format("SELECT {} FROM api_tokens WHERE id = ?", kTokenCols), {Raw(id)}));
    if (rows.empty()) {
      return NotFound(fmt::format("token {} not found", Raw(id)));
    }
    out = TokenFromRow(rows[0]);
    return Status::Ok();
  });
  if (!st.ok()) {
    return st;
  }
  return *out;
}

Result<Page<ApiToken>> AccountsRepo::ListTokens(std::optional<UserId> user, const ListQuery& q) {
  ListSql l;
  if (user) {
    l.Add("user_id = ?", {Raw(*user)});
  }
  for (const auto& [k, v] : q.filters) {
    if (k == "revoked" && v == "false") {
      l.Add("revoked_at IS NULL");
    }
    if (k == "revoked" && v == "true") {
      l.Add("revoked_at IS NOT NULL");
    }
  }
  l.Search(q.search, {"name", "prefix"});
  return RunList<ApiToken>(db_, kTokenCols, "api_tokens", l, q, "id",
                           [](const Row& r) { return TokenFromRow(r); });
}

Status AccountsRepo::RevokeToken(TokenId id, const AuditContext& audit) {
  return db_.Write([&](Tx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query(fmt::format("SELECT {} FROM api_tokens WHERE id = ?", kTokenCols), {Raw(id)}));
    if (rows.empty()) {
      return NotFound(fmt::format("token {} not found", Raw(id)));
    }
    ApiToken before = TokenFromRow(rows[0]);
    if (before.revoked_at) {
      return Status::Ok();  // idempotent
    }
    ApiToken after = before;
    after.revoked_at = audit.now;
    VIGIL_RETURN_IF_ERROR(
        tx.Exec("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", {Ms(audit.now), Raw(id)})
            .status());
    return AppendAudit(tx, audit, "token.revoke", "token", Raw(id), std::nullopt,
                       Dump(domain::ToJson(before)), Dump(domain::ToJson(after)));
  });
}

Status AccountsRepo::TouchToken(TokenId id, TimePoint now) {
  return db_.Write([&](Tx& tx) -> Status {
    return tx.Exec("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", {Ms(now), Raw(id)})
        .status();
  });
}

// ================= audit

Status AccountsRepo::Audit(const std::string& action, const std::string& entity_type,
                           std::optional<int64_t> entity_id, std::optional<ClientId> client,
                           const AuditContext& audit) {
  return db_.Write([&](Tx& tx) -> Status {
    return AppendAudit(tx, audit, action, entity_type, entity_id, client, "", "");
  });
}

Result<Page<AuditEntry>> AccountsRepo::ListAudit(const ListQuery& q) {
  ListSql l;
  for (const auto& [k, v] : q.filters) {
    if (k == "action") {
      l.Add("action = ?", {v});
    }
    if (k == "entity_type") {
      l.Add("entity_type = ?", {v});
    }
    if (k == "actor_id") {
      l.Add("actor_id = ?", {static_cast<int64_t>(std::stoll(v))});
    }
    if (k == "client_id") {
      l.Add("client_id = ?", {static_cast<int64_t>(std::stoll(v))});
    }
    if (k == "since") {
      l.Add("at >= ?", {static_cast<int64_t>(std::stoll(v))});
    }
    if (k == "until") {
      l.Add("at < ?", {static_cast<int64_t>(std::stoll(v))});
    }
  }
  l.Search(q.search, {"action", "actor_label"});
  ListQuery qq = q;
  if (qq.sort.empty()) {
    qq.descending = true;
  }
  return RunList<AuditEntry>(
      db_,
      "id, at, actor_type, actor_id, token_id, actor_label, action, entity_type, entity_id, "
      "client_id, before_json, after_json, request_id, remote_address",
      "audit_log", l, qq, "id", [](const Row& r) {
        AuditEntry e;
        e.id = AuditId{r.Int(0)};
        e.at = FromUnixMillis(r.Int(1));
        std::string t = r.Text(2);
        e.actor_type = t == "user"    ? domain::ActorType::kUser
                       : t == "token" ? domain::ActorType::kToken
                       : t == "rule"  ? domain::ActorType::kRule
                                      : domain::ActorType::kSystem;
        e.actor_id = r.OptInt(3);
        e.token_id = r.OptInt(4);
        e.actor_label = r.Text(5);
        e.action = r.Text(6);
        e.entity_type = r.Text(7);
        e.entity_id = r.OptInt(8);
        if (auto c = r.OptInt(9)) {
          e.client_id = ClientId{*c};
        }
        e.before_json = r.Text(10);
        e.after_json = r.Text(11);
        e.request_id = r.Text(12);
        e.remote_address = r.Text(13);
        return e;
      });
}

}  // namespace vigil::storage
