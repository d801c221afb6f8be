#include "agent/checks/services.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "core/strings.h"

namespace vigil::checks {
namespace {

constexpr size_t kMaxStateBytes = 64;
constexpr size_t kMaxNamesInDetails = 30;

}  // namespace

Result<UnitState> ParseSystemctlShow(std::string_view text) {
  if (text.size() > kMaxSystemctlOutputBytes) {
    return PayloadTooLarge("systemctl output too large");
  }
  UnitState st;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = TrimSpace(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    std::string_view key = line.substr(0, eq);
    std::string value = SanitizeText(TrimSpace(line.substr(eq + 1)), kMaxStateBytes);
    if (key == "LoadState") {
      st.load_state = std::move(value);
    } else if (key == "ActiveState") {
      st.active_state = std::move(value);
    } else if (key == "SubState") {
      st.sub_state = std::move(value);
    }
  }
  if (st.load_state.empty() || st.active_state.empty()) {
    return InvalidArgument("systemctl show: no LoadState or ActiveState");
  }
  return st;
}

Result<FailedUnits> ParseFailedUnits(std::string_view text) {
  if (text.size() > kMaxSystemctlOutputBytes) {
    return PayloadTooLarge("systemctl output too large");
  }
  FailedUnits out;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = TrimSpace(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    // Older systemd marks failed units with "●" (U+25CF) or "*" even with --plain.
    for (std::string_view bullet : {"\xE2\x97\x8F", "*"}) {
      if (line.starts_with(bullet)) {
        line = TrimSpace(line.substr(bullet.size()));
      }
    }
    if (line.empty() || line.starts_with("UNIT ") || line.starts_with("LOAD ") ||
        line.ends_with("loaded units listed.") || line.ends_with("loaded units listed")) {
      continue;
    }
    std::string_view rest = line;
    std::string_view name = NextToken(rest);
    std::string_view load = NextToken(rest);
    std::string_view active = NextToken(rest);
    std::string_view sub = NextToken(rest);
    if (sub.empty()) {
      return InvalidArgument(
          fmt::format("systemctl list-units line {}: expected UNIT LOAD ACTIVE SUB", line_no));
    }
    (void)load;
    (void)active;
    ++out.count;
    if (out.units.size() < kMaxFailedUnitsKept) {
      out.units.push_back({.name = SanitizeText(name, kMaxUnitNameBytes),
                           .description = SanitizeText(TrimSpace(rest), 256)});
    }
  }
  return out;
}

bool IsValidUnitName(std::string_view unit) {
  if (unit.empty() || unit.size() > kMaxUnitNameBytes || unit.front() == '-') {
    return false;
  }
  for (char c : unit) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '_' || c == '.' || c == '@' || c == '-' || c == '\\';
    if (!ok) {
      return false;
    }
  }
  return true;
}

proto::CheckResult EvaluateRequiredUnit(std::string_view unit, const UnitState& st) {
  proto::CheckResult r;
  r.check = "services";
  r.target = SanitizeText(unit, kMaxUnitNameBytes);
  r.details["load_state"] = st.load_state;
  r.details["active_state"] = st.active_state;
  if (!st.sub_state.empty()) {
    r.details["sub_state"] = st.sub_state;
  }
  std::string state = st.sub_state.empty() ? st.active_state
                                           : fmt::format("{} ({})", st.active_state, st.sub_state);
  if (st.load_state == "not-found") {
    r.status = proto::CheckStatus::kCritical;
    r.message = fmt::format("{} not found", r.target);
  } else if (st.load_state == "masked") {
    r.status = proto::CheckStatus::kCritical;
    r.message = fmt::format("{} is masked", r.target);
  } else if (st.active_state == "active" || st.active_state == "reloading") {
    r.status = proto::CheckStatus::kOk;
    r.message = fmt::format("{} is {}", r.target, state);
  } else if (st.active_state == "activating" || st.active_state == "deactivating") {
    r.status = proto::CheckStatus::kWarning;
    r.message = fmt::format("{} is {}", r.target, state);
  } else {
    r.status = proto::CheckStatus::kCritical;
    r.message = fmt::format("{} is {}", r.target, state);
  }
  return r;
}

proto::CheckResult EvaluateFailedUnits(const FailedUnits& failed, int max_failed) {
  proto::CheckResult r;
  r.check = "services";
  max_failed = std::max(max_failed, 0);
  r.metrics.push_back({.name = "services.failed",
                       .value = static_cast<double>(failed.count),
                       .warn = static_cast<double>(max_failed + 1),
                       .min = 0});
  std::string names;
  for (size_t i = 0; i < failed.units.size() && i < kMaxNamesInDetails; ++i) {
    names += (i == 0 ? "" : ", ") + failed.units[i].name;
  }
  if (failed.count > kMaxNamesInDetails) {
    names += fmt::format(" and {} more",
                         failed.count - std::min(failed.units.size(), kMaxNamesInDetails));
  }
  if (!names.empty()) {
    r.details["failed_units"] = names;
  }
  if (failed.count == 0) {
    r.status = proto::CheckStatus::kOk;
    r.message = "no failed units";
  } else {
    r.status = failed.count > static_cast<size_t>(max_failed) ? proto::CheckStatus::kWarning
                                                              : proto::CheckStatus::kOk;
    r.message =
        fmt::format("{} failed unit{}: {}", failed.count, failed.count == 1 ? "" : "s", names);
  }
  return r;
}

}  // namespace vigil::checks
