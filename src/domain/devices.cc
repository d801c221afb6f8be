#include "domain/devices.h"

#include <map>
#include <tuple>

#include "core/json_writer.h"

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
  std::string out = "[";
  auto optional = [&out](std::string_view key, const std::optional<double>& v) {
    if (v) {
      out += key;
      json::AppendNumber(out, *v);
    }
  };
  for (const auto& m : metrics) {
    out += out.size() == 1 ? "{\"name\":" : ",{\"name\":";
    json::AppendString(out, m.name);
    out += ",\"value\":";
    json::AppendNumber(out, m.value);
    if (!m.unit.empty()) {
      out += ",\"unit\":";
      json::AppendString(out, m.unit);
    }
    optional(",\"warn\":", m.warn);
    optional(",\"crit\":", m.crit);
    optional(",\"min\":", m.min);
    optional(",\"max\":", m.max);
    out += '}';
  }
  out += ']';
  return out;
}

std::string MetricValuesJson(const std::vector<proto::Metric>& metrics) {
  std::string out = "{";
  for (const auto& m : metrics) {
    if (out.size() > 1) {
      out += ',';
    }
    json::AppendString(out, m.name);
    out += ':';
    json::AppendNumber(out, m.value);
  }
  out += '}';
  return out;
}

std::string DetailsJson(const std::map<std::string, std::string>& details) {
  std::string out = "{";
  for (const auto& [k, v] : details) {
    if (out.size() > 1) {
      out += ',';
    }
    json::AppendString(out, k);
    out += ':';
    json::AppendString(out, v);
  }
  out += '}';
  return out;
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
