// Routes for people: enrollment tokens, devices with their checks, history and inventory, and
// the check configuration per device kind and per device.

#include <fmt/format.h>

#include <map>
#include <string>

#include "crypto/crypto.h"
#include "proto/agent_config.h"
#include "server/api/services.h"

namespace vigil::server::api {
namespace {

using domain::Role;
using domain::RoleSet;
using nlohmann::json;
using vigil::json::ObjectReader;

const RoleSet kAll = RoleSet::All();
const RoleSet kDeployers = {Role::kOwner, Role::kAdmin, Role::kTechnician};
const RoleSet kStaffTech = {Role::kOwner, Role::kAdmin, Role::kTechnician, Role::kDispatcher};
const RoleSet kOwnerAdmin = {Role::kOwner, Role::kAdmin};

constexpr std::string_view kTokenPrefix = "vge_";
constexpr int64_t kMaxHistoryPoints = 10'000;
constexpr auto kMaxTokenLifetime = std::chrono::hours(24 * 365);
constexpr size_t kMaxOverrideBytes = 256 << 10;

json OptId(const auto& id) { return id ? json(Raw(*id)) : json(nullptr); }
json OptTimeJson(const std::optional<TimePoint>& t) {
  return t ? json(FormatRfc3339(*t)) : json(nullptr);
}

json TokenJson(const domain::EnrollmentToken& t, TimePoint now) {
  return {{"id", Raw(t.id)},
          {"client_id", Raw(t.client_id)},
          {"site_id", OptId(t.site_id)},
          {"kind", t.kind},
          {"label", t.label},
          {"prefix", t.prefix},
          {"max_uses", t.max_uses},
          {"uses", t.uses},
          {"expires_at", FormatRfc3339(t.expires_at)},
          {"revoked_at", OptTimeJson(t.revoked_at)},
          {"usable", t.UsableAt(now)},
          {"created_by", OptId(t.created_by)},
          {"created_at", FormatRfc3339(t.created_at)}};
}

json DeviceJson(const domain::Device& d, TimePoint now) {
  return {{"id", Raw(d.id)},
          {"client_id", Raw(d.client_id)},
          {"site_id", OptId(d.site_id)},
          {"kind", d.kind},
          {"hostname", d.hostname},
          {"os", d.os},
          {"agent_version", d.agent_version},
          {"enrolled_at", FormatRfc3339(d.enrolled_at)},
          {"last_seen_at", OptTimeJson(d.last_seen_at)},
          {"presence", domain::PresenceName(domain::PresenceAt(d, now, storage::kPresenceGrace))},
          {"connected", d.connected},
          {"revoked_at", OptTimeJson(d.revoked_at)},
          {"status", d.status ? json(proto::CheckStatusName(*d.status)) : json(nullptr)},
          {"failing_checks", d.failing_checks},
          {"lost_batches", d.gap_batches},
          {"last_sequence", d.last_sequence}};
}

json ParsedOr(const std::string& text, const json& fallback) {
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

// A history point's metrics, [{"name", "value", "unit"}], from what history keeps (values) and
// the units of the current state's metrics (`units`).
json HistoryMetrics(const domain::HistoryPoint& p, const std::map<std::string, json>& units) {
  json out = json::array();
  for (const auto& [name, value] : p.values) {
    json m = {{"name", name}, {"value", value}};
    if (auto u = units.find(name); u != units.end()) {
      m["unit"] = u->second;
    }
    out.push_back(std::move(m));
  }
  return out;
}

json CheckJson(const domain::CheckState& c) {
  return {{"check", c.check},
          {"target", c.target},
          {"status", proto::CheckStatusName(c.status)},
          {"message", c.message},
          {"metrics", ParsedOr(c.metrics_json, json::array())},
          {"details", ParsedOr(c.details_json, json::object())},
          {"observed_at", FormatRfc3339(c.observed_at)},
          {"changed_at", FormatRfc3339(c.changed_at)}};
}

// A time query parameter (RFC 3339). Errors: kInvalidArgument naming it.
Result<std::optional<TimePoint>> TimeParam(const Ctx& ctx, std::string_view name) {
  auto v = ctx.Query(name);
  if (!v) {
    return std::optional<TimePoint>();
  }
  auto t = ParseRfc3339(*v);
  if (!t) {
    return FieldInvalid(std::string(name), "must be an RFC 3339 time such as 2026-11-22T10:00:00Z");
  }
  return std::optional<TimePoint>(*t);
}

// Refuses query parameters other than `allowed`.
Status OnlyParams(const Ctx& ctx, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : ctx.QueryPairs()) {
    bool ok = false;
    for (auto a : allowed) {
      ok = ok || a == k;
    }
    if (!ok) {
      return FieldInvalid(k.substr(0, 64), "is not a known query parameter");
    }
  }
  return Status::Ok();
}

// Reads {"override": {...}} (a JSON merge patch of the configuration).
Result<json> ReadOverride(const Ctx& ctx) {
  if (ctx.req.body.size() > kMaxOverrideBytes) {
    return PayloadTooLarge("the configuration is larger than 256 KiB");
  }
  VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
  ObjectReader r(body);
  const json* o = r.Raw("override");
  if (o == nullptr) {
    r.AddError("override", "is required");
  } else if (!o->is_object()) {
    r.AddError("override", "must be an object (a JSON merge patch of the configuration)");
  }
  VIGIL_RETURN_IF_ERROR(r.Finish());
  return *o;
}

// Prefixes field errors of a configuration with "override.".
Status OverrideError(const Status& st) {
  if (st.code() != ErrorCode::kInvalidArgument) {
    return st;
  }
  Status out(ErrorCode::kInvalidArgument, "invalid configuration");
  for (const auto& e : st.field_errors()) {
    out.WithField("override." + e.field, e.detail);
  }
  if (st.field_errors().empty()) {
    out.WithField("override", st.message());
  }
  return out;
}

std::string ConfigMessage(int64_t revision) {
  return json({{"type", "config"}, {"revision", revision}}).dump();
}

}  // namespace

Result<proto::AgentConfig> EffectiveAgentConfig(
    Services& s, DeviceId device, storage::ClientScope scope,
    const std::optional<vigil::json::Json>& device_override) {
  VIGIL_ASSIGN_OR_RETURN(auto src, s.devices.DeviceConfigSources(device, scope));
  json merged = ParsedOr(src.kind_override, json::object());
  merged.merge_patch(device_override ? *device_override
                                     : ParsedOr(src.device_override, json::object()));
  if (!merged.is_object()) {
    merged = json::object();
  }
  merged.erase("revision");
  VIGIL_ASSIGN_OR_RETURN(
      auto config, proto::DecodeAgentConfig(merged.dump(), proto::DefaultAgentConfig(src.kind)));
  config.revision = src.revision;
  return config;
}

void RegisterDeviceRoutes(Router& router, Services& s) {
  // ---- enrollment tokens
  router.Add({"POST", "/api/v1/clients/{id}/enrollment-tokens", kDeployers, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t client, ctx.IdParam("id"));
                VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
                ObjectReader r(body);
                domain::EnrollmentToken t;
                t.client_id = ClientId{client};
                if (auto site = r.OptInt("site_id", 1, INT64_MAX)) {
                  t.site_id = SiteId{*site};
                }
                if (r.Has("kind")) {
                  t.kind = r.Enum("kind", {"server", "workstation"});
                }
                t.label = r.OptString("label", 0, 200).value_or("");
                t.max_uses = r.OptInt("max_uses", 1, 100'000).value_or(1);
                auto hours = r.OptInt("expires_in_hours", 1, int64_t{24} * 365).value_or(24 * 7);
                VIGIL_RETURN_IF_ERROR(r.Finish());
                t.expires_at = ctx.now + std::min<std::chrono::hours>(std::chrono::hours(hours),
                                                                      kMaxTokenLifetime);
                std::string secret = std::string(kTokenPrefix) + crypto::RandomToken(32);
                t.prefix = secret.substr(0, 10);
                t.created_by = ctx.who().user_id;
                VIGIL_ASSIGN_OR_RETURN(auto created, s.devices.CreateEnrollmentToken(
                                                         t, crypto::Sha256Hex(secret),
                                                         ctx.who().ClientScope(), AuditFor(ctx)));
                json out = TokenJson(created, ctx.now);
                out["token"] = secret;
                return Created(out);
              }});

  router.Add({"GET", "/api/v1/enrollment-tokens", kDeployers, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(
                    auto q,
                    ReadListQuery(ctx, {storage::kEnrollmentTokenSortKeys,
                                        {{"client_id", kAnyId}, {"revoked", {"true", "false"}}}}));
                VIGIL_ASSIGN_OR_RETURN(auto page,
                                       s.devices.ListEnrollmentTokens(q, ctx.who().ClientScope()));
                return Ok(PageJson(page, q, [&](const auto& t) { return TokenJson(t, ctx.now); }));
              }});

  router.Add({"DELETE", "/api/v1/enrollment-tokens/{id}", kDeployers, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                VIGIL_RETURN_IF_ERROR(s.devices.RevokeEnrollmentToken(
                    EnrollmentTokenId{id}, ctx.who().ClientScope(), AuditFor(ctx)));
                return NoContent();
              }});

  // ---- devices
  router.Add({"GET", "/api/v1/devices", kAll, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(
                    auto q, ReadListQuery(
                                ctx, {storage::kDeviceSortKeys,
                                      {{"client_id", kAnyId},
                                       {"site_id", kAnyId},
                                       {"kind", {"server", "workstation"}},
                                       {"status", {"ok", "warning", "critical", "unknown", "none"}},
                                       {"presence", {"online", "offline", "never"}},
                                       {"revoked", {"true", "false"}}}}));
                VIGIL_ASSIGN_OR_RETURN(auto page,
                                       s.devices.ListDevices(q, ctx.who().ClientScope(), ctx.now));
                return Ok(PageJson(page, q, [&](const auto& d) { return DeviceJson(d, ctx.now); }));
              }});

  // The overview's numbers: devices per client and site by presence and status, and the totals.
  router.Add({"GET", "/api/v1/fleet/summary", kAll, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_RETURN_IF_ERROR(OnlyParams(ctx, {}));
                VIGIL_ASSIGN_OR_RETURN(auto groups,
                                       s.devices.FleetSummary(ctx.who().ClientScope(), ctx.now));
                storage::FleetGroup total;
                json items = json::array();
                auto counts = [](const storage::FleetGroup& g) {
                  return json{{"devices", g.devices},
                              {"online", g.online},
                              {"offline", g.devices - g.online - g.never},
                              {"never", g.never},
                              {"ok", g.ok},
                              {"warning", g.warning},
                              {"critical", g.critical},
                              {"unknown", g.unknown},
                              {"none", g.devices - g.ok - g.warning - g.critical - g.unknown}};
                };
                for (const auto& g : groups) {
                  json item = counts(g);
                  item["client_id"] = Raw(g.client_id);
                  item["client_name"] = g.client_name;
                  item["site_id"] = OptId(g.site_id);
                  item["site_name"] = g.site_name ? json(*g.site_name) : json(nullptr);
                  items.push_back(std::move(item));
                  total.devices += g.devices;
                  total.online += g.online;
                  total.never += g.never;
                  total.ok += g.ok;
                  total.warning += g.warning;
                  total.critical += g.critical;
                  total.unknown += g.unknown;
                }
                return Ok({{"totals", counts(total)}, {"groups", std::move(items)}});
              }});

  router.Add({"GET", "/api/v1/devices/{id}", kAll, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                auto scope = ctx.who().ClientScope();
                VIGIL_ASSIGN_OR_RETURN(auto d, s.devices.GetDevice(DeviceId{id}, scope));
                VIGIL_ASSIGN_OR_RETURN(auto checks, s.devices.CurrentChecks(DeviceId{id}, scope));
                VIGIL_ASSIGN_OR_RETURN(auto inv, s.devices.GetInventory(DeviceId{id}, scope));
                json out = DeviceJson(d, ctx.now);
                json cs = json::array();
                for (const auto& c : checks) {
                  cs.push_back(CheckJson(c));
                }
                out["checks"] = std::move(cs);
                out["inventory"] = inv ? ParsedOr(*inv, nullptr) : json(nullptr);
                return Ok(out);
              }});

  router.Add(
      {"DELETE", "/api/v1/devices/{id}", kDeployers, false, false, [&s](Ctx& ctx) -> Result<Reply> {
         VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
         VIGIL_RETURN_IF_ERROR(
             s.devices.RevokeDevice(DeviceId{id}, ctx.who().ClientScope(), AuditFor(ctx)));
         s.hub.Close(DeviceId{id});
         return NoContent();
       }});

  router.Add(
      {"GET", "/api/v1/devices/{id}/checks/{check}/history", kAll, false, false,
       [&s](Ctx& ctx) -> Result<Reply> {
         VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
         std::string check = ctx.params.at("check");
         if (!proto::IsCheckName(check)) {
           return NotFound(fmt::format("no check named {}", check.substr(0, 64)));
         }
         VIGIL_RETURN_IF_ERROR(OnlyParams(ctx, {"target", "from", "to", "resolution", "limit"}));
         std::string target = ctx.Query("target").value_or("");
         if (target.size() > 4096) {
           return FieldInvalid("target", "is too long");
         }
         VIGIL_ASSIGN_OR_RETURN(auto from, TimeParam(ctx, "from"));
         VIGIL_ASSIGN_OR_RETURN(auto to, TimeParam(ctx, "to"));
         TimePoint end = to.value_or(ctx.now);
         TimePoint start = from.value_or(end - std::chrono::hours(24));
         if (start >= end) {
           return FieldInvalid("from", "must be before to");
         }
         int64_t limit = kMaxHistoryPoints;
         if (auto l = ctx.Query("limit")) {
           char* e = nullptr;
           long long v = std::strtoll(l->c_str(), &e, 10);
           if (e == l->c_str() || *e != '\0' || v < 1 || v > kMaxHistoryPoints) {
             return FieldInvalid("limit", fmt::format("must be 1 to {}", kMaxHistoryPoints));
           }
           limit = v;
         }
         std::string resolution = ctx.Query("resolution").value_or("auto");
         if (resolution != "raw" && resolution != "hour" && resolution != "auto") {
           return FieldInvalid("resolution", "must be raw, hour or auto");
         }
         if (resolution == "auto") {
           resolution = end - start > std::chrono::hours(48) ? "hour" : "raw";
         }
         auto scope = ctx.who().ClientScope();
         json out = {{"device_id", id},          {"check", check},
                     {"target", target},         {"from", FormatRfc3339(start)},
                     {"to", FormatRfc3339(end)}, {"resolution", resolution}};
         json points = json::array();
         if (resolution == "raw") {
           VIGIL_ASSIGN_OR_RETURN(
               auto pts, s.devices.History(DeviceId{id}, scope, check, target, start, end, limit));
           std::map<std::string, json> units;
           VIGIL_ASSIGN_OR_RETURN(auto current, s.devices.CurrentChecks(DeviceId{id}, scope));
           for (const auto& c : current) {
             if (c.check == check && c.target == target) {
               for (const json& m : ParsedOr(c.metrics_json, json::array())) {
                 if (m.is_object() && m.contains("unit") && m.contains("name") &&
                     m["name"].is_string()) {
                   units[m["name"].get<std::string>()] = m["unit"];
                 }
               }
             }
           }
           for (const auto& p : pts) {
             points.push_back({{"at", FormatRfc3339(p.at)},
                               {"status", proto::CheckStatusName(p.status)},
                               {"message", p.message},
                               {"metrics", HistoryMetrics(p, units)}});
           }
         } else {
           VIGIL_ASSIGN_OR_RETURN(
               auto pts, s.devices.Rollups(DeviceId{id}, scope, check, target, start, end, limit));
           for (const auto& p : pts) {
             points.push_back({{"hour", FormatRfc3339(p.hour)},
                               {"metric", p.metric},
                               {"min", p.min},
                               {"max", p.max},
                               {"avg", p.count > 0 ? p.sum / static_cast<double>(p.count) : 0.0},
                               {"samples", p.count},
                               {"worst_status", proto::CheckStatusName(p.worst)}});
           }
         }
         out["points"] = std::move(points);
         return Ok(out);
       }});

  router.Add({"GET", "/api/v1/devices/{id}/inventory/history", kAll, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                VIGIL_RETURN_IF_ERROR(OnlyParams(ctx, {}));
                VIGIL_ASSIGN_OR_RETURN(
                    auto changes,
                    s.devices.InventoryHistory(DeviceId{id}, ctx.who().ClientScope(), 100));
                json items = json::array();
                for (const auto& c : changes) {
                  items.push_back({{"id", c.id},
                                   {"changed_at", FormatRfc3339(c.changed_at)},
                                   {"inventory", ParsedOr(c.inventory_json, nullptr)}});
                }
                return Ok({{"items", std::move(items)}});
              }});

  // ---- configuration
  router.Add({"GET", "/api/v1/devices/{id}/config", kStaffTech, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                VIGIL_ASSIGN_OR_RETURN(
                    auto src, s.devices.DeviceConfigSources(DeviceId{id}, ctx.who().ClientScope()));
                VIGIL_ASSIGN_OR_RETURN(auto config,
                                       EffectiveAgentConfig(s, DeviceId{id}, std::nullopt));
                return Ok({{"override", ParsedOr(src.device_override, json::object())},
                           {"kind_override", ParsedOr(src.kind_override, json::object())},
                           {"effective", json::parse(proto::EncodeAgentConfig(config))}});
              }});

  router.Add({"PUT", "/api/v1/devices/{id}/config", kOwnerAdmin, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                VIGIL_ASSIGN_OR_RETURN(int64_t id, ctx.IdParam("id"));
                auto scope = ctx.who().ClientScope();
                VIGIL_ASSIGN_OR_RETURN(json patch, ReadOverride(ctx));
                auto checked = EffectiveAgentConfig(s, DeviceId{id}, scope, patch);
                if (!checked) {
                  return OverrideError(checked.error());
                }
                VIGIL_RETURN_IF_ERROR(
                    s.devices.SetDeviceOverride(DeviceId{id}, scope, patch.dump(), AuditFor(ctx)));
                VIGIL_ASSIGN_OR_RETURN(auto config, EffectiveAgentConfig(s, DeviceId{id}, scope));
                s.hub.Send(DeviceId{id}, ConfigMessage(config.revision));
                return Ok({{"override", patch},
                           {"effective", json::parse(proto::EncodeAgentConfig(config))}});
              }});

  router.Add({"GET", "/api/v1/device-kinds/{kind}/config", kStaffTech, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                std::string kind = ctx.params.at("kind");
                if (!proto::IsDeviceKind(kind)) {
                  return NotFound(fmt::format("no device kind named {}", kind.substr(0, 64)));
                }
                VIGIL_ASSIGN_OR_RETURN(auto override_json, s.devices.KindOverride(kind));
                json patch = ParsedOr(override_json, json::object());
                auto config =
                    proto::DecodeAgentConfig(patch.dump(), proto::DefaultAgentConfig(kind));
                return Ok({{"kind", kind},
                           {"override", patch},
                           {"default",
                            json::parse(proto::EncodeAgentConfig(proto::DefaultAgentConfig(kind)))},
                           {"effective", config ? json::parse(proto::EncodeAgentConfig(*config))
                                                : json(nullptr)}});
              }});

  router.Add({"PUT", "/api/v1/device-kinds/{kind}/config", kOwnerAdmin, false, false,
              [&s](Ctx& ctx) -> Result<Reply> {
                std::string kind = ctx.params.at("kind");
                if (!proto::IsDeviceKind(kind)) {
                  return NotFound(fmt::format("no device kind named {}", kind.substr(0, 64)));
                }
                VIGIL_ASSIGN_OR_RETURN(json patch, ReadOverride(ctx));
                auto config =
                    proto::DecodeAgentConfig(patch.dump(), proto::DefaultAgentConfig(kind));
                if (!config) {
                  return OverrideError(config.error());
                }
                VIGIL_RETURN_IF_ERROR(s.devices.SetKindOverride(kind, patch.dump(), AuditFor(ctx)));
                // Every connected device of this kind learns of it; the others at their next
                // batch (config_revision in the reply).
                std::string msg = json({{"type", "config"}}).dump();
                s.hub.Broadcast([](DeviceId) { return true; }, msg);
                return Ok({{"kind", kind},
                           {"override", patch},
                           {"effective", json::parse(proto::EncodeAgentConfig(*config))}});
              }});
}

}  // namespace vigil::server::api
