#include "domain/accounts_json.h"

#include "domain/validate.h"

namespace vigil::domain {
namespace {

using nlohmann::json;

json OptInt(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json Time(TimePoint t) { return FormatRfc3339(t); }
json OptTime(const std::optional<TimePoint>& t) { return t ? Time(*t) : json(nullptr); }

}  // namespace

std::string_view ClientStatusName(ClientStatus s) {
  return s == ClientStatus::kActive ? "active" : "archived";
}

json ToJson(const BusinessHours& h) {
  json out = json::object();
  for (int d = 0; d < 7; ++d) {
    if (h.days[d]) {
      out[std::string(kWeekdayKeys[d])] =
          json::array({FormatClock(h.days[d]->open_minute), FormatClock(h.days[d]->close_minute)});
    } else {
      out[std::string(kWeekdayKeys[d])] = nullptr;
    }
  }
  return out;
}

json ToJson(const Client& c) {
  return {
      {"id", Raw(c.id)},
      {"name", c.name},
      {"status", ClientStatusName(c.status)},
      {"timezone", c.timezone},
      {"business_hours", ToJson(c.business_hours)},
      {"employees", OptInt(c.employees)},
      {"currency", c.currency},
      {"downtime_cost",
       {{"per_hour_minor", OptInt(c.downtime.per_hour_minor)},
        {"staff_affected", OptInt(c.downtime.staff_affected)},
        {"loaded_hourly_cost_minor", OptInt(c.downtime.loaded_hourly_cost_minor)},
        {"revenue_per_hour_minor", OptInt(c.downtime.revenue_per_hour_minor)},
        {"effective_per_hour_minor", OptInt(c.downtime.EffectivePerHourMinor())}}},
      {"notes", c.notes},
      {"created_at", Time(c.created_at)},
      {"updated_at", Time(c.updated_at)},
  };
}

json ToJson(const Site& s) {
  return {
      {"id", Raw(s.id)},
      {"client_id", Raw(s.client_id)},
      {"name", s.name},
      {"address", s.address},
      {"timezone", s.timezone ? json(*s.timezone) : json(nullptr)},
      {"notes", s.notes},
      {"created_at", Time(s.created_at)},
      {"updated_at", Time(s.updated_at)},
  };
}

json ToJson(const Contact& c) {
  return {
      {"id", Raw(c.id)},
      {"client_id", Raw(c.client_id)},
      {"site_id", c.site_id ? json(Raw(*c.site_id)) : json(nullptr)},
      {"name", c.name},
      {"email", c.email},
      {"phone", c.phone},
      {"title", c.title},
      {"is_primary", c.is_primary},
      {"is_billing", c.is_billing},
      {"is_technical", c.is_technical},
      {"created_at", Time(c.created_at)},
      {"updated_at", Time(c.updated_at)},
  };
}

json ToJson(const User& u) {
  return {
      {"id", Raw(u.id)},
      {"email", u.email},
      {"name", u.name},
      {"role", RoleName(u.role)},
      {"client_id", u.client_id ? json(Raw(*u.client_id)) : json(nullptr)},
      {"disabled", u.disabled},
      {"totp_enabled", u.totp_enabled},
      {"created_at", Time(u.created_at)},
      {"updated_at", Time(u.updated_at)},
      {"last_login_at", OptTime(u.last_login_at)},
  };
}

json ToJson(const ApiToken& t) {
  return {
      {"id", Raw(t.id)},
      {"user_id", Raw(t.user_id)},
      {"name", t.name},
      {"prefix", t.prefix},
      {"scope", TokenScopeName(t.scope)},
      {"created_at", Time(t.created_at)},
      {"expires_at", OptTime(t.expires_at)},
      {"last_used_at", OptTime(t.last_used_at)},
      {"revoked_at", OptTime(t.revoked_at)},
  };
}

json ToJson(const AuditEntry& e) {
  auto parse = [](const std::string& s) -> json {
    if (s.empty()) {
      return nullptr;
    }
    return json::parse(s, nullptr, /*allow_exceptions=*/false);
  };
  return {
      {"id", Raw(e.id)},
      {"at", Time(e.at)},
      {"actor",
       {{"type", ActorTypeName(e.actor_type)},
        {"id", OptInt(e.actor_id)},
        {"token_id", OptInt(e.token_id)},
        {"label", e.actor_label}}},
      {"action", e.action},
      {"entity_type", e.entity_type},
      {"entity_id", OptInt(e.entity_id)},
      {"client_id", e.client_id ? json(Raw(*e.client_id)) : json(nullptr)},
      {"before", parse(e.before_json)},
      {"after", parse(e.after_json)},
      {"request_id", e.request_id},
      {"remote_address", e.remote_address},
  };
}

}  // namespace vigil::domain
