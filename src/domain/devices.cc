#include "domain/devices.h"

#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

namespace vigil::domain {

std::string_view PresenceName(Presence p) {
  switch (p) {
    case Presence::kOnline:
      return "online";
    case Presence::kOffline:
      return "offline";
    case Presence::kNever:
      return "never";
  }
  return "never";
}

Presence PresenceAt(const Device& d, TimePoint now, std::chrono::seconds grace) {
  if (d.revoked_at) {
    return Presence::kOffline;
  }
  if (d.connected) {
    return Presence::kOnline;
  }
  if (!d.last_seen_at) {
    return Presence::kNever;
  }
  return now - *d.last_seen_at <= grace ? Presence::kOnline : Presence::kOffline;
}

std::string MetricsJson(const std::vector<proto::Metric>& metrics) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : metrics) {
    nlohmann::json j = {{"name", m.name}, {"value", m.value}};
    if (!m.unit.empty()) {
      j["unit"] = m.unit;
    }
    if (m.warn) {
      j["warn"] = *m.warn;
    }
    if (m.crit) {
      j["crit"] = *m.crit;
    }
    if (m.min) {
      j["min"] = *m.min;
    }
    if (m.max) {
      j["max"] = *m.max;
    }
    out.push_back(std::move(j));
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string DetailsJson(const std::map<std::string, std::string>& details) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : details) {
    out[k] = v;
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<const proto::Observation*> NewestPerTarget(
    const std::vector<proto::Observation>& observations) {
  std::map<std::pair<std::string_view, std::string_view>, const proto::Observation*> newest;
  for (const auto& o : observations) {
    auto key = std::pair<std::string_view, std::string_view>(o.result.check, o.result.target);
    auto [it, inserted] = newest.emplace(key, &o);
    if (!inserted && it->second->observed_at <= o.observed_at) {
      it->second = &o;
    }
  }
  std::vector<const proto::Observation*> out;
  out.reserve(newest.size());
  for (const auto& [k, o] : newest) {
    out.push_back(o);
  }
  return out;
}

}  // namespace vigil::domain
