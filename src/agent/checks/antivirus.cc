#include "agent/checks/antivirus.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <chrono>
#include <vector>

#include "core/strings.h"

namespace vigil::checks {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

constexpr size_t kMaxFields = 16;
// Unix seconds of 2000-01-01 and 9999-12-31T23:59:59Z.
constexpr int64_t kMinUnix = 946'684'800;
constexpr int64_t kMaxUnix = 253'402'300'799;

bool ParseInt(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 18) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

std::vector<std::string_view> Split(std::string_view s, char sep, size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() < max_parts) {
    size_t pos = s.find(sep);
    parts.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) {
      break;
    }
    s.remove_prefix(pos + 1);
  }
  return parts;
}

// "22 Nov 2026 08-23 +0000" (ClamAV's strftime "%d %b %Y %H-%M %z").
std::optional<TimePoint> ParseTextTime(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::vector<std::string_view> parts = Split(s, ' ', 6);
  if (parts.size() != 5) {
    return std::nullopt;
  }
  int64_t day = 0;
  int64_t year = 0;
  if (!ParseInt(parts[0], day) || !ParseInt(parts[2], year) || year < 2000 || year > 9999) {
    return std::nullopt;
  }
  unsigned month = 0;
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (parts[1] == kMonths[i]) {
      month = static_cast<unsigned>(i + 1);
    }
  }
  std::string_view hm = parts[3];
  int64_t h = 0;
  int64_t m = 0;
  if (month == 0 || hm.size() != 5 || hm[2] != '-' || !ParseInt(hm.substr(0, 2), h) ||
      !ParseInt(hm.substr(3, 2), m) || h > 23 || m > 59) {
    return std::nullopt;
  }
  std::string_view zone = parts[4];
  int64_t zh = 0;
  int64_t zm = 0;
  if (zone.size() != 5 || (zone[0] != '+' && zone[0] != '-') || !ParseInt(zone.substr(1, 2), zh) ||
      !ParseInt(zone.substr(3, 2), zm) || zh > 18 || zm > 59) {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(year)),
                                  std::chrono::month(month),
                                  std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) {
    return std::nullopt;
  }
  auto offset = std::chrono::minutes(zh * 60 + zm) * (zone[0] == '-' ? -1 : 1);
  auto t = std::chrono::sys_days(ymd) + hours(h) + std::chrono::minutes(m) - offset;
  return std::chrono::time_point_cast<std::chrono::milliseconds>(t);
}

std::string FormatAge(seconds age) {
  int64_t h = age.count() / 3600;
  if (h < 72) {
    return fmt::format("{} h", h);
  }
  return fmt::format("{} d", h / 24);
}

}  // namespace

std::string_view ServiceStateName(ServiceState s) {
  switch (s) {
    case ServiceState::kNotInstalled:
      return "not installed";
    case ServiceState::kRunning:
      return "running";
    case ServiceState::kStopped:
      return "stopped";
    case ServiceState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Result<ClamavDatabaseInfo> ParseClamavDatabaseHeader(std::string_view data) {
  std::string_view h = data.substr(0, kCvdHeaderBytes);
  while (!h.empty() && (h.back() == ' ' || h.back() == '\0' || h.back() == '\n' ||
                        h.back() == '\r' || h.back() == '\t')) {
    h.remove_suffix(1);
  }
  constexpr std::string_view kMagic = "ClamAV-VDB:";
  if (!h.starts_with(kMagic)) {
    return InvalidArgument("not a ClamAV database (no \"ClamAV-VDB:\" header)");
  }
  h.remove_prefix(kMagic.size());
  std::vector<std::string_view> f = Split(h, ':', kMaxFields);
  if (f.size() < 4) {
    return InvalidArgument(
        fmt::format("ClamAV database header has {} fields, expected at least 4", f.size() + 1));
  }
  ClamavDatabaseInfo info;
  if (!ParseInt(f[1], info.version)) {
    return InvalidArgument("ClamAV database header: version is not a number");
  }
  if (!ParseInt(f[2], info.signatures)) {
    return InvalidArgument("ClamAV database header: signature count is not a number");
  }
  if (f.size() > 3 && !f[3].empty() && !ParseInt(f[3], info.functionality_level)) {
    return InvalidArgument("ClamAV database header: functionality level is not a number");
  }
  if (f.size() > 6) {
    info.builder = SanitizeText(f[6], 64);
  }
  int64_t unix_time = 0;
  if (f.size() > 7 && ParseInt(f[7], unix_time) && unix_time >= kMinUnix && unix_time <= kMaxUnix) {
    info.build_time = TimePoint(seconds(unix_time));
  } else if (auto t = ParseTextTime(f[0])) {
    info.build_time = *t;
  } else {
    return InvalidArgument("ClamAV database header: no valid build time");
  }
  return info;
}

proto::CheckResult EvaluateAntivirus(const AntivirusState& state, TimePoint now,
                                     const AntivirusThresholds& t) {
  proto::CheckResult r;
  r.check = "antivirus";
  if (!state.present) {
    r.status = t.required ? proto::CheckStatus::kCritical : proto::CheckStatus::kOk;
    r.message = t.required ? "no antivirus present" : "no antivirus present (not required)";
    return r;
  }
  r.target = "clamav";
  r.details["scanner"] = std::string(ServiceStateName(state.scanner));
  r.details["updater"] = std::string(ServiceStateName(state.updater));
  if (!state.database_file.empty()) {
    r.details["database_file"] = SanitizeText(state.database_file, 512);
  }
  if (!state.database) {
    r.status = proto::CheckStatus::kCritical;
    r.message = state.database_error.empty()
                    ? "ClamAV is installed but has no signature database"
                    : "ClamAV signatures unreadable: " + SanitizeText(state.database_error, 200);
    return r;
  }
  const ClamavDatabaseInfo& db = *state.database;
  auto age = std::chrono::floor<seconds>(now - db.build_time);
  r.metrics.push_back({.name = "antivirus.signature_age_hours",
                       .value = static_cast<double>(age.count()) / 3600.0,
                       .unit = "h",
                       .warn = static_cast<double>(t.warn_hours),
                       .crit = static_cast<double>(t.crit_hours)});
  r.metrics.push_back(
      {.name = "antivirus.signatures", .value = static_cast<double>(db.signatures), .min = 0});
  r.metrics.push_back(
      {.name = "antivirus.database_version", .value = static_cast<double>(db.version)});
  r.details["build_time"] = FormatRfc3339(db.build_time);
  if (!db.builder.empty()) {
    r.details["builder"] = db.builder;
  }

  proto::CheckStatus status = proto::CheckStatus::kOk;
  std::string msg;
  if (age < -hours(1)) {
    status = proto::CheckStatus::kWarning;
    msg = fmt::format("signatures (daily {}) dated {} in the future: clock skew?", db.version,
                      FormatAge(-age));
    r.details["clock_skew"] = "true";
  } else {
    if (age >= hours(t.crit_hours)) {
      status = proto::CheckStatus::kCritical;
    } else if (age >= hours(t.warn_hours)) {
      status = proto::CheckStatus::kWarning;
    }
    msg = fmt::format("signatures {} old (daily {})", FormatAge(std::max(age, seconds(0))),
                      db.version);
  }
  if (state.scanner == ServiceState::kStopped) {
    status = proto::Worst(status, proto::CheckStatus::kWarning);
    msg += "; scanner (clamd) not running";
  }
  if (state.updater == ServiceState::kStopped) {
    status = proto::Worst(status, proto::CheckStatus::kWarning);
    msg += "; updater (freshclam) not running";
  }
  r.status = status;
  r.message = std::move(msg);
  return r;
}

}  // namespace vigil::checks
