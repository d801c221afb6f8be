#include "agent/checks/updates.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <utility>

#include "core/strings.h"

namespace vigil::checks {
namespace {

constexpr size_t kMaxRebootPackages = 100;
constexpr size_t kMaxDetailNames = 30;

// Takes "[...]" (when `open` is '[') or "(...)" at the front of `s` (after blanks). Returns false
// for an unterminated group; `found` says whether there was one.
bool TakeGroup(std::string_view& s, char open, char close, bool& found, std::string_view& inner) {
  s = TrimSpace(s);
  found = false;
  if (s.empty() || s.front() != open) {
    return true;
  }
  // Versions and origins never nest brackets, except the architecture "[amd64]" inside "(...)".
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == open) {
      ++depth;
    } else if (s[i] == close && --depth == 0) {
      inner = s.substr(1, i - 1);
      s.remove_prefix(i + 1);
      found = true;
      return true;
    }
  }
  return false;
}

std::string Field(std::string_view s) { return SanitizeText(TrimSpace(s), kMaxAptFieldBytes); }

bool ContainsNoCase(std::string_view hay, std::string_view needle) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                        [&](char a, char b) { return lower(a) == lower(b); });
  return it != hay.end();
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  size_t n = std::min(names.size(), kMaxDetailNames);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += names[i];
  }
  if (names.size() > n) {
    out += fmt::format(" and {} more", names.size() - n);
  }
  return out;
}

}  // namespace

Result<AptSimulation> ParseAptSimulation(std::string_view text) {
  if (text.size() > kMaxAptOutputBytes) {
    return PayloadTooLarge(fmt::format("apt-get output longer than {} bytes", kMaxAptOutputBytes));
  }
  AptSimulation sim;
  std::vector<PendingUpdate> regular;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    bool inst = line.starts_with("Inst ");
    bool remv = line.starts_with("Remv ");
    if (!inst && !remv) {
      continue;
    }
    std::string_view rest = line.substr(5);
    std::string_view name = NextToken(rest);
    if (name.empty()) {
      return InvalidArgument(fmt::format("apt-get line {}: no package name", line_no));
    }
    bool found = false;
    std::string_view old_version;
    if (!TakeGroup(rest, '[', ']', found, old_version)) {
      return InvalidArgument(fmt::format("apt-get line {}: unterminated '['", line_no));
    }
    if (remv) {
      ++sim.removals;
      continue;
    }
    std::string_view paren;
    if (!TakeGroup(rest, '(', ')', found, paren)) {
      return InvalidArgument(fmt::format("apt-get line {}: unterminated '('", line_no));
    }
    if (++sim.pending > kMaxAptUpdates) {
      return InvalidArgument(fmt::format("apt-get: more than {} updates", kMaxAptUpdates));
    }
    PendingUpdate u;
    u.package = Field(name);
    u.current_version = Field(old_version);
    std::string_view origins = paren;
    u.new_version = Field(NextToken(origins));
    // Drop the trailing architecture "[amd64]".
    origins = TrimSpace(origins);
    if (origins.ends_with(']')) {
      size_t open = origins.rfind('[');
      if (open != std::string_view::npos) {
        origins = TrimSpace(origins.substr(0, open));
      }
    }
    u.origins = Field(origins);
    u.security = ContainsNoCase(origins, "-security");
    if (u.security) {
      ++sim.security;
      if (sim.updates.size() < kMaxAptUpdatesKept) {
        sim.updates.push_back(std::move(u));
      }
    } else if (regular.size() < kMaxAptUpdatesKept) {
      regular.push_back(std::move(u));
    }
  }
  for (auto& u : regular) {
    if (sim.updates.size() >= kMaxAptUpdatesKept) {
      break;
    }
    sim.updates.push_back(std::move(u));
  }
  return sim;
}

std::vector<std::string> ParseRebootRequiredPackages(std::string_view text) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  while (!text.empty() && out.size() < kMaxRebootPackages) {
    size_t nl = text.find('\n');
    std::string_view line = TrimSpace(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) {
      continue;
    }
    std::string name = SanitizeText(line, kMaxAptFieldBytes);
    if (seen.insert(name).second) {
      out.push_back(std::move(name));
    }
  }
  return out;
}

proto::CheckResult EvaluateUpdates(const UpdatesState& state, TimePoint now,
                                   const UpdatesThresholds& t) {
  proto::CheckResult r;
  r.check = "updates";
  const AptSimulation& apt = state.apt;
  auto opt_threshold = [](int v) -> std::optional<double> {
    return v > 0 ? std::optional<double>(v) : std::nullopt;
  };
  r.metrics.push_back({.name = "updates.pending",
                       .value = static_cast<double>(apt.pending),
                       .warn = opt_threshold(t.warn_pending),
                       .min = 0});
  r.metrics.push_back({.name = "updates.security",
                       .value = static_cast<double>(apt.security),
                       .crit = opt_threshold(t.crit_security),
                       .min = 0});
  r.metrics.push_back(
      {.name = "updates.removals", .value = static_cast<double>(apt.removals), .min = 0});
  r.metrics.push_back({.name = "updates.reboot_required",
                       .value = state.reboot_required ? 1.0 : 0.0,
                       .min = 0,
                       .max = 1});

  std::vector<std::string> names;
  std::vector<std::string> security_names;
  for (const auto& u : apt.updates) {
    names.push_back(u.package);
    if (u.security) {
      security_names.push_back(u.package);
    }
  }
  if (!names.empty()) {
    r.details["packages"] = JoinNames(names);
  }
  if (!security_names.empty()) {
    r.details["security_packages"] = JoinNames(security_names);
  }
  if (!state.reboot_packages.empty()) {
    r.details["reboot_packages"] = JoinNames(state.reboot_packages);
  }

  proto::CheckStatus status = proto::CheckStatus::kOk;
  std::vector<std::string> parts;
  if (apt.pending == 0) {
    parts.push_back("no updates pending");
  } else {
    parts.push_back(fmt::format("{} update{} pending ({} security)", apt.pending,
                                apt.pending == 1 ? "" : "s", apt.security));
  }
  if (t.crit_security > 0 && apt.security >= static_cast<size_t>(t.crit_security)) {
    status = proto::Worst(status, proto::CheckStatus::kCritical);
  }
  if (t.warn_pending > 0 && apt.pending >= static_cast<size_t>(t.warn_pending)) {
    status = proto::Worst(status, proto::CheckStatus::kWarning);
  }
  if (state.reboot_required) {
    status = proto::Worst(status, proto::CheckStatus::kWarning);
    parts.push_back("reboot required");
  }
  if (state.last_update) {
    r.details["last_update"] = FormatRfc3339(*state.last_update);
    auto age = std::chrono::floor<std::chrono::seconds>(now - *state.last_update);
    double days = std::max<double>(0, static_cast<double>(age.count()) / 86400.0);
    r.metrics.push_back({.name = "updates.days_since_update",
                         .value = std::floor(days * 10) / 10,
                         .unit = "d",
                         .warn = opt_threshold(t.warn_days_since),
                         .min = 0});
    if (t.warn_days_since > 0 && days > t.warn_days_since) {
      status = proto::Worst(status, proto::CheckStatus::kWarning);
      parts.push_back(
          fmt::format("package lists last updated {} days ago", static_cast<int64_t>(days)));
    }
  } else if (t.warn_days_since > 0) {
    status = proto::Worst(status, proto::CheckStatus::kWarning);
    parts.push_back("package lists never updated");
  }
  r.status = status;
  for (size_t i = 0; i < parts.size(); ++i) {
    r.message += (i == 0 ? "" : "; ") + parts[i];
  }
  return r;
}

}  // namespace vigil::checks
