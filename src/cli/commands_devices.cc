// vigil enrollment-tokens, devices: enrolling machines and watching them.

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"

namespace vigil::cli {
namespace {

// The largest configuration override the server accepts.
constexpr size_t kMaxOverrideBytes = 256 << 10;

std::string Dash(std::string s) { return s.empty() ? "-" : s; }

// A number from the server for display: "42", "42.5", or "-".
std::string Number(const Json* v) {
  if (v == nullptr || !v->is_number()) {
    return "-";
  }
  if (v->is_number_integer()) {
    return v->dump();
  }
  const double d = v->get<double>();
  if (std::isfinite(d) && std::abs(d) < 1e15 && d == std::trunc(d)) {
    return fmt::format("{}", static_cast<int64_t>(d));  // 1234567890, not 1.23457e+09
  }
  return fmt::format("{:.6g}", d);
}

std::string NumberOf(const Json& obj, const char* key) { return Number(Lookup(obj, key)); }

// "disk.used_percent=42.5% load1=0.7" from a list of metrics.
std::string Metrics(const Json& item) {
  const Json* metrics = Lookup(item, "metrics");
  if (metrics == nullptr || !metrics->is_array() || metrics->empty()) {
    return "-";
  }
  std::string out;
  for (const Json& m : *metrics) {
    if (!m.is_object()) {
      continue;
    }
    if (!out.empty()) {
      out += ' ';
    }
    out += StringOf(m, "name") + "=" + NumberOf(m, "value") + StringOf(m, "unit");
  }
  return Dash(out);
}

// ---- enrollment tokens

// Why a token can or cannot enroll another device.
std::string TokenState(const Json& t) {
  if (const Json* r = Lookup(t, "revoked_at"); r != nullptr && !r->is_null()) {
    return "revoked";
  }
  if (BoolOf(t, "usable")) {
    return "usable";
  }
  const Json* uses = Lookup(t, "uses");
  const Json* max = Lookup(t, "max_uses");
  if (uses != nullptr && max != nullptr && uses->is_number_integer() && max->is_number_integer() &&
      uses->get<int64_t>() >= max->get<int64_t>()) {
    return "used up";
  }
  return "expired";
}

struct TokenFlags {
  int64_t id = 0;
  int64_t client = 0;
  std::string revoked;
  ListFlags list;
  BodyFields body;
};

Status CreateEnrollmentToken(Context& ctx, const TokenFlags& f) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_ASSIGN_OR_RETURN(
      Json token,
      api->Post(fmt::format("/api/v1/clients/{}/enrollment-tokens", f.client), f.body.Build()));
  const std::string secret = StringOf(token, "token");
  if (secret.empty()) {
    return Internal("the server sent an invalid response (no token)");
  }
  const std::string command =
      fmt::format("vigil-agent enroll --server {} --token {}", SanitizeLine(api->server(), 500),
                  SanitizeLine(secret, 200));
  if (ctx.json()) {
    ctx.PrintJson(token);
  } else {
    std::string label = StringOf(token, "label");
    ctx.Print(fmt::format(
        "Created enrollment token {}{} for client {} (kind {}, up to {} use(s), expires {}).\n"
        "Token: {}\n\nOn each machine to enroll, run:\n  {}\n",
        IdOf(token), label.empty() ? "" : " \"" + SanitizeLine(label, 100) + "\"",
        IdOf(token, "client_id"), Display(Lookup(token, "kind")), NumberOf(token, "max_uses"),
        Display(Lookup(token, "expires_at")), SanitizeLine(secret, 200), command));
  }
  ctx.Note("The token is shown only this once.");
  if (ctx.json()) {
    ctx.Note("Enroll a machine with: " + command);
  }
  return Status::Ok();
}

Status ListEnrollmentTokens(Context& ctx, const TokenFlags& f) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  QueryString qs;
  AddListQuery(qs, f.list);
  if (f.client > 0) {
    qs.Add("client_id", f.client);
  }
  qs.Add("revoked", f.revoked);
  VIGIL_ASSIGN_OR_RETURN(Json page, api->Get("/api/v1/enrollment-tokens" + qs.str()));
  return PrintPage(
      ctx, page,
      {{"ID", "id"},
       {"CLIENT", "client_id"},
       {"SITE", "site_id"},
       {"KIND", "kind"},
       {"LABEL", "", [](const Json& t) { return Dash(StringOf(t, "label")); }},
       {"PREFIX", "", [](const Json& t) { return Dash(StringOf(t, "prefix")) + "..."; }},
       {"USES", "",
        [](const Json& t) { return NumberOf(t, "uses") + "/" + NumberOf(t, "max_uses"); }},
       {"EXPIRES", "expires_at"},
       {"STATE", "", TokenState}},
      "enrollment tokens");
}

Status RevokeEnrollmentToken(Context& ctx, int64_t id) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_RETURN_IF_ERROR(api->Delete(fmt::format("/api/v1/enrollment-tokens/{}", id)).status());
  if (!ctx.json()) {
    ctx.Print(fmt::format(
        "Revoked enrollment token {}. Devices it already enrolled stay enrolled.\n", id));
  }
  return Status::Ok();
}

void AddEnrollmentTokens(CLI::App& app, Registry& reg) {
  CLI::App* group =
      reg.Group(app, "enrollment-tokens", "Enrollment tokens (for vigil-agent enroll)");

  auto create = std::make_shared<TokenFlags>();
  CLI::App* cmd = reg.Add(*group, "create", "Create an enrollment token (shown once)",
                          [create](Context& ctx) { return CreateEnrollmentToken(ctx, *create); });
  cmd->add_option("--client", create->client, "the client whose devices it enrolls")
      ->required()
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  create->body.Int(cmd, "--site", "site_id", "the site of the devices it enrolls", 1, INT64_MAX);
  create->body.String(cmd, "--kind", "kind", "server (default) or workstation")
      ->check(CLI::IsMember({"server", "workstation"}));
  create->body.Int(cmd, "--max-uses", "max_uses", "how many devices it may enroll (default 1)", 1,
                   100'000);
  create->body.Int(cmd, "--expires-in-hours", "expires_in_hours",
                   "hours until it expires (default 168)", 1, 24 * 365);
  create->body.String(cmd, "--label", "label", "a note on what it is for");

  auto list = std::make_shared<TokenFlags>();
  cmd = reg.Add(*group, "list", "List enrollment tokens",
                [list](Context& ctx) { return ListEnrollmentTokens(ctx, *list); });
  AddListFlags(cmd, list->list, "id, created_at, expires_at", true);
  cmd->add_option("--client", list->client, "only this client's tokens")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  cmd->add_option("--revoked", list->revoked, "true: only revoked tokens; false: only the others")
      ->check(CLI::IsMember({"true", "false"}));

  auto revoke = std::make_shared<TokenFlags>();
  cmd = reg.Add(*group, "revoke", "Revoke an enrollment token (enrolled devices stay)",
                [revoke](Context& ctx) { return RevokeEnrollmentToken(ctx, revoke->id); });
  AddIdArg(cmd, revoke->id, "ID", "enrollment token id");
}

// ---- devices

struct DeviceListFlags {
  int64_t client = 0;
  int64_t site = 0;
  std::string status;
  std::string presence;
  std::string kind;
  std::string revoked;
  ListFlags list;
};

Status ListDevices(Context& ctx, const DeviceListFlags& f) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  QueryString qs;
  AddListQuery(qs, f.list);
  if (f.client > 0) {
    qs.Add("client_id", f.client);
  }
  if (f.site > 0) {
    qs.Add("site_id", f.site);
  }
  qs.Add("status", f.status).Add("presence", f.presence).Add("kind", f.kind);
  qs.Add("revoked", f.revoked);
  VIGIL_ASSIGN_OR_RETURN(Json page, api->Get("/api/v1/devices" + qs.str()));
  return PrintPage(ctx, page,
                   {{"ID", "id"},
                    {"CLIENT", "client_id"},
                    {"HOSTNAME", "hostname"},
                    {"OS", "", [](const Json& d) { return Dash(StringOf(d, "os")); }},
                    {"PRESENCE", "presence"},
                    {"STATUS", "status"},
                    {"FAILING", "failing_checks"},
                    {"LAST SEEN", "last_seen_at"}},
                   "devices");
}

// A few lines about the machine from its inventory.
std::string InventoryLines(const Json& inv) {
  std::vector<std::pair<std::string, std::string>> lines;
  auto add = [&lines](std::string key, std::string value) {
    if (!value.empty()) {
      lines.emplace_back(std::move(key), std::move(value));
    }
  };
  auto join = [](std::initializer_list<std::string> parts) {
    std::string out;
    for (const auto& p : parts) {
      if (!p.empty()) {
        out += (out.empty() ? "" : " ") + p;
      }
    }
    return out;
  };
  add("os", join({StringOf(inv, "os_name"), StringOf(inv, "os_version")}));
  add("kernel", join({StringOf(inv, "kernel"), StringOf(inv, "architecture")}));
  add("hardware", join({StringOf(inv, "manufacturer"), StringOf(inv, "model")}));
  add("serial", StringOf(inv, "serial"));
  std::string cpu = StringOf(inv, "cpu_model");
  if (const Json* cores = Lookup(inv, "cpu_cores");
      cores != nullptr && cores->is_number_integer()) {
    cpu = join({cpu, fmt::format("({} cores)", cores->get<int64_t>())});
  }
  add("cpu", cpu);
  if (const Json* mem = Lookup(inv, "memory_bytes"); mem != nullptr && mem->is_number()) {
    add("memory", fmt::format("{:.1f} GiB", mem->get<double>() / (1024.0 * 1024 * 1024)));
  }
  if (const Json* disks = Lookup(inv, "disks"); disks != nullptr && disks->is_array()) {
    std::string names;
    for (const Json& d : *disks) {
      std::string size;
      if (const Json* s = Lookup(d, "size_bytes"); s != nullptr && s->is_number()) {
        size = fmt::format(" ({:.0f} GB)", s->get<double>() / 1e9);
      }
      names += (names.empty() ? "" : ", ") + StringOf(d, "name") + size;
    }
    add("disks", names);
  }
  if (const Json* nics = Lookup(inv, "interfaces"); nics != nullptr && nics->is_array()) {
    std::string names;
    for (const Json& n : *nics) {
      std::string addresses = Display(Lookup(n, "addresses"), 200);
      names += (names.empty() ? "" : ", ") + StringOf(n, "name") +
               (addresses == "-" ? "" : " " + addresses);
    }
    add("network", names);
  }
  if (const Json* boot = Lookup(inv, "last_boot"); boot != nullptr && boot->is_string()) {
    add("last boot", boot->get<std::string>());
  }
  if (const Json* n = Lookup(inv, "package_count");
      n != nullptr && n->is_number_integer() && n->get<int64_t>() > 0) {
    add("packages", n->dump());
  }
  Json obj = Json::object();
  std::vector<std::string> order;
  for (auto& [k, v] : lines) {
    order.push_back(k);
    obj[k] = std::move(v);
  }
  return RenderKeyValues(obj, order);
}

Status ShowDevice(Context& ctx, int64_t id) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_ASSIGN_OR_RETURN(Json d, api->Get(fmt::format("/api/v1/devices/{}", id)));
  if (ctx.json()) {
    ctx.PrintJson(d);
    return Status::Ok();
  }
  if (!d.is_object()) {
    return Internal("the server sent an invalid response (not an object)");
  }
  ctx.Print(RenderKeyValues(d,
                            {"id", "hostname", "client_id", "site_id", "kind", "os", "presence",
                             "connected", "status", "failing_checks", "last_seen_at", "enrolled_at",
                             "agent_version", "last_sequence", "lost_batches", "revoked_at"},
                            {"checks", "inventory"}));
  const Json* checks = Lookup(d, "checks");
  if (checks == nullptr || !checks->is_array() || checks->empty()) {
    ctx.Print("\nNo check results yet.\n");
  } else {
    ctx.Print("\nChecks:\n");
    ctx.Print(RenderTable(
        *checks, {{"CHECK", "check"},
                  {"TARGET", "", [](const Json& c) { return Dash(StringOf(c, "target")); }},
                  {"STATUS", "status"},
                  {"MESSAGE", "message"},
                  {"SINCE", "changed_at"}}));
  }
  const Json* inv = Lookup(d, "inventory");
  if (inv == nullptr || !inv->is_object()) {
    ctx.Print("\nNo inventory reported yet.\n");
  } else {
    ctx.Print("\nInventory:\n");
    ctx.Print(InventoryLines(*inv));
  }
  return Status::Ok();
}

Status RevokeDevice(Context& ctx, int64_t id) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_RETURN_IF_ERROR(api->Delete(fmt::format("/api/v1/devices/{}", id)).status());
  if (!ctx.json()) {
    ctx.Print(fmt::format(
        "Revoked device {}: its credential no longer works and its agent was disconnected.\n", id));
  }
  return Status::Ok();
}

struct HistoryFlags {
  int64_t id = 0;
  std::string check;
  std::string target;
  std::string from;
  std::string to;
  std::string resolution;
  int64_t limit = 0;
};

Status History(Context& ctx, const HistoryFlags& f) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  QueryString qs;
  if (!f.target.empty()) {
    qs.Add("target", f.target);
  }
  qs.Add("from", f.from).Add("to", f.to).Add("resolution", f.resolution);
  if (f.limit > 0) {
    qs.Add("limit", f.limit);
  }
  VIGIL_ASSIGN_OR_RETURN(Json h, api->Get(fmt::format("/api/v1/devices/{}/checks/{}/history{}",
                                                      f.id, UrlEncode(f.check), qs.str())));
  if (ctx.json()) {
    ctx.PrintJson(h);
    return Status::Ok();
  }
  const Json* points = Lookup(h, "points");
  if (points == nullptr || !points->is_array()) {
    return Internal("the server sent an invalid response (no list of points)");
  }
  std::string target = StringOf(h, "target");
  std::string what = fmt::format("{}{} on device {}, {} to {}", SanitizeLine(f.check, 64),
                                 target.empty() ? "" : " (" + SanitizeLine(target, 100) + ")", f.id,
                                 Display(Lookup(h, "from")), Display(Lookup(h, "to")));
  const bool hourly = StringOf(h, "resolution") == "hour";
  if (points->empty()) {
    ctx.Print(fmt::format("No {} for {}.\n", hourly ? "hourly roll-ups" : "results", what));
    return Status::Ok();
  }
  ctx.Print(fmt::format("{}, {}:\n", what, hourly ? "hourly roll-ups" : "raw results"));
  if (hourly) {
    ctx.Print(RenderTable(*points, {{"HOUR", "hour"},
                                    {"METRIC", "metric"},
                                    {"MIN", "", [](const Json& p) { return NumberOf(p, "min"); }},
                                    {"AVG", "", [](const Json& p) { return NumberOf(p, "avg"); }},
                                    {"MAX", "", [](const Json& p) { return NumberOf(p, "max"); }},
                                    {"SAMPLES", "samples"},
                                    {"WORST", "worst_status"}}));
  } else {
    ctx.Print(RenderTable(
        *points,
        {{"TIME", "at"}, {"STATUS", "status"}, {"METRICS", "", Metrics}, {"MESSAGE", "message"}}));
  }
  ctx.Print(fmt::format("\nPoints: {}\n", points->size()));
  return Status::Ok();
}

struct ConfigFlags {
  int64_t id = 0;
  std::string set;
};

// The JSON object in `path` ("-": standard input). Errors: kInvalidArgument naming the file.
Result<Json> ReadOverrideFile(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return InvalidArgument(fmt::format("cannot read {}", path));
    }
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string name = path == "-" ? "standard input" : path;
  if (text.size() > kMaxOverrideBytes) {
    return InvalidArgument(fmt::format("{} is larger than 256 KiB", name));
  }
  auto parsed = json::Parse(text, {kMaxOverrideBytes, 32});
  if (!parsed) {
    return InvalidArgument(fmt::format("{} is not valid JSON: {}", name, parsed.error().message()));
  }
  if (!parsed->is_object()) {
    return InvalidArgument(
        fmt::format("{} must hold a JSON object (a merge patch such as {{\"checks\": {{\"disk\": "
                    "{{\"warn_percent\": 80}}}}}}), not {}",
                    name, json::TypeName(*parsed)));
  }
  return *parsed;
}

// The server's field errors for an override, named as in the file ("checks.disk.warn_percent").
std::vector<std::string> OverrideErrors(const Json& problem) {
  std::vector<std::string> out;
  const Json* errors = Lookup(problem, "errors");
  if (errors == nullptr || !errors->is_array()) {
    return out;
  }
  for (const Json& e : *errors) {
    std::string field = StringOf(e, "field");
    if (field.rfind("override.", 0) == 0) {
      field = field.substr(9);
    }
    std::string detail = StringOf(e, "detail");
    out.push_back(SanitizeLine(field.empty() ? detail : field + ": " + detail, 300));
  }
  return out;
}

Status SetConfig(Context& ctx, const ConfigFlags& f) {
  VIGIL_ASSIGN_OR_RETURN(Json patch, ReadOverrideFile(f.set));
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  auto reply = api->Call("PUT", fmt::format("/api/v1/devices/{}/config", f.id),
                         Json{{"override", std::move(patch)}});
  if (!reply) {
    if (api->last_status() != 400) {
      return reply.status();
    }
    std::vector<std::string> errors = OverrideErrors(api->last_problem());
    const std::string name = f.set == "-" ? "standard input" : f.set;
    if (errors.size() == 1) {
      return Status(reply.status().code(),
                    fmt::format("invalid configuration in {}: {}", name, errors[0]));
    }
    if (errors.empty()) {
      return reply.status();
    }
    if (!ctx.json()) {
      std::string lines = fmt::format("Invalid configuration in {}:\n", name);
      for (const auto& e : errors) {
        lines += "  " + e + "\n";
      }
      std::fputs(lines.c_str(), stderr);
    }
    return Status(
        reply.status().code(),
        fmt::format("the server refused the configuration in {} ({} errors)", name, errors.size()));
  }
  if (ctx.json()) {
    ctx.PrintJson(*reply);
  } else {
    ctx.Print(fmt::format(
        "Set the configuration override of device {} (revision {}); a connected agent is told "
        "now, the others at their next report.\n",
        f.id, NumberOf(*reply, "effective.revision")));
  }
  return Status::Ok();
}

Status ShowConfig(Context& ctx, const ConfigFlags& f) {
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ctx.Api());
  VIGIL_ASSIGN_OR_RETURN(Json config, api->Get(fmt::format("/api/v1/devices/{}/config", f.id)));
  if (ctx.json()) {
    ctx.PrintJson(config);
    return Status::Ok();
  }
  const Json* effective = Lookup(config, "effective");
  if (effective == nullptr || !effective->is_object()) {
    return Internal("the server sent an invalid response (no effective configuration)");
  }
  ctx.PrintJson(*effective);
  return Status::Ok();
}

void AddDevices(CLI::App& app, Registry& reg) {
  CLI::App* group = reg.Group(app, "devices", "Devices (machines watched by vigil-agent)");

  auto list = std::make_shared<DeviceListFlags>();
  CLI::App* cmd = reg.Add(*group, "list", "List devices",
                          [list](Context& ctx) { return ListDevices(ctx, *list); });
  cmd->add_option("--client", list->client, "only this client's devices")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  cmd->add_option("--site", list->site, "only this site's devices")
      ->check(CLI::Range(int64_t{1}, INT64_MAX));
  cmd->add_option("--status", list->status,
                  "worst check status: ok, warning, critical, unknown, or none (no result yet)")
      ->check(CLI::IsMember({"ok", "warning", "critical", "unknown", "none"}));
  cmd->add_option("--presence", list->presence, "online, offline or never (never reported)")
      ->check(CLI::IsMember({"online", "offline", "never"}));
  cmd->add_option("--kind", list->kind, "server or workstation")
      ->check(CLI::IsMember({"server", "workstation"}));
  cmd->add_option("--search", list->list.q, "search text (hostname, os)");
  cmd->add_option("--revoked", list->revoked,
                  "true: only revoked devices; false: only the others (the default)")
      ->check(CLI::IsMember({"true", "false"}));
  AddListFlags(cmd, list->list, "id, hostname, last_seen_at, enrolled_at, failing_checks", false);

  auto show = std::make_shared<int64_t>(0);
  cmd = reg.Add(*group, "show", "Show a device, its checks and its inventory",
                [show](Context& ctx) { return ShowDevice(ctx, *show); });
  AddIdArg(cmd, *show, "ID", "device id");

  auto revoke = std::make_shared<int64_t>(0);
  cmd = reg.Add(*group, "revoke", "Revoke a device (its agent's credential stops working)",
                [revoke](Context& ctx) { return RevokeDevice(ctx, *revoke); });
  AddIdArg(cmd, *revoke, "ID", "device id");

  auto history = std::make_shared<HistoryFlags>();
  cmd = reg.Add(*group, "history", "Show the results of one check over time",
                [history](Context& ctx) { return History(ctx, *history); });
  AddIdArg(cmd, history->id, "ID", "device id");
  cmd->add_option("CHECK", history->check, "check name, e.g. disk, cpu, smart")->required();
  cmd->add_option("--target", history->target, "the check's target, e.g. / or /dev/sda");
  cmd->add_option("--from", history->from, "start, RFC 3339 (default: 24 hours before --to)");
  cmd->add_option("--to", history->to, "end, RFC 3339 (default: now)");
  cmd->add_option("--resolution", history->resolution,
                  "raw, hour, or auto (hour for ranges over 48 hours; the default)")
      ->check(CLI::IsMember({"raw", "hour", "auto"}));
  cmd->add_option("--limit", history->limit, "at most this many points (1-10000)")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000}));

  auto config = std::make_shared<ConfigFlags>();
  cmd = reg.Add(*group, "config",
                "Show a device's effective configuration, or set its override with --set",
                [config](Context& ctx) {
                  return config->set.empty() ? ShowConfig(ctx, *config) : SetConfig(ctx, *config);
                });
  AddIdArg(cmd, config->id, "ID", "device id");
  cmd->add_option("--set", config->set,
                  "replace the device's override with the JSON merge patch in FILE ('-': stdin)")
      ->type_name("FILE");
}

}  // namespace

void AddDeviceCommands(CLI::App& app, Registry& reg) {
  AddEnrollmentTokens(app, reg);
  AddDevices(app, reg);
}

}  // namespace vigil::cli
