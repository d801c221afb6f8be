#include "domain/devices.h"

#include <map>
#include <tuple>

#include "core/json_reader.h"
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

std::string HistoryEntriesJson(const std::vector<proto::Observation>& observations) {
  std::string out = "[";
  for (const auto& o : observations) {
    out += out.size() == 1 ? "[" : ",[";
    json::AppendString(out, o.result.check);
    out += ',';
    json::AppendString(out, o.result.target);
    out += ',';
    out += std::to_string(ToUnixMillis(o.observed_at));
    out += ',';
    out += std::to_string(static_cast<int>(o.result.status));
    out += ',';
    json::AppendString(out, o.result.message);
    out += ",{";
    for (size_t i = 0; i < o.result.metrics.size(); ++i) {
      out += i == 0 ? "" : ",";
      json::AppendString(out, o.result.metrics[i].name);
      out += ':';
      json::AppendNumber(out, o.result.metrics[i].value);
    }
    out += "}]";
  }
  out += ']';
  return out;
}

Result<std::vector<HistoryEntry>> ParseHistoryEntries(
    std::string_view text,
    const std::optional<std::pair<std::string_view, std::string_view>>& only) {
  std::vector<HistoryEntry> out;
  json::Reader in(text, {.max_bytes = text.size(), .max_depth = 3});
  auto bad = [] { return InvalidArgument("not a history entry list"); };
  if (!in.BeginArray()) {
    return bad();
  }
  std::string check;
  std::string target;
  while (in.NextElement()) {
    if (!in.BeginArray() || !in.NextElement() || !in.StringInto(check) || !in.NextElement() ||
        !in.StringInto(target)) {
      return bad();
    }
    if (only && (check != only->first || target != only->second)) {
      while (in.NextElement()) {
        in.Skip();
      }
      continue;
    }
    HistoryEntry e;
    e.check = check;
    e.target = target;
    std::optional<json::Reader::Number> at;
    std::optional<json::Reader::Number> status;
    std::optional<std::string> message;
    if (!in.NextElement() || !(at = in.ReadNumber()) || !in.NextElement() ||
        !(status = in.ReadNumber()) || !in.NextElement() || !(message = in.String()) ||
        !in.NextElement() || !in.BeginObject()) {
      return bad();
    }
    while (in.NextMember()) {
      std::string name = in.key();
      auto v = in.ReadNumber();
      if (!v) {
        return bad();
      }
      e.point.values.emplace_back(std::move(name), v->value);
    }
    if (in.NextElement() || !at->integer || !status->integer || status->as_signed < 0 ||
        status->as_signed > 3) {
      return bad();  // a seventh element, or not the integers written
    }
    e.point.at = FromUnixMillis(at->as_signed);
    e.point.status = static_cast<proto::CheckStatus>(status->as_signed);
    e.point.message = std::move(*message);
    out.push_back(std::move(e));
  }
  if (Status s = in.Finish(); !s.ok()) {
    return bad();
  }
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
