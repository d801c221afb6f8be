#include "agent/checks/backup.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>

#include "core/json.h"
#include "core/strings.h"

namespace vigil::checks {
namespace {

using json::Json;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr size_t kMaxMessageBytes = 300;
constexpr size_t kMaxStderrDetailBytes = 2000;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool ContainsNoCase(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(a) == lower(b);
  });
  return it != hay.end();
}

// Reads an optional string field; records an error for a wrong type or size.
Status OptStringField(const Json& obj, const char* key, const std::string& where,
                      std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return Status::Ok();
  }
  if (!it->is_string()) {
    return InvalidArgument(fmt::format("{}.{}: must be a string", where, key));
  }
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > kMaxFieldBytes) {
    return InvalidArgument(fmt::format("{}.{}: longer than {} bytes", where, key, kMaxFieldBytes));
  }
  out = s;
  return Status::Ok();
}

Status ReqStringField(const Json& obj, const char* key, const std::string& where,
                      std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return InvalidArgument(fmt::format("{}.{}: is required", where, key));
  }
  VIGIL_RETURN_IF_ERROR(OptStringField(obj, key, where, out));
  if (out.empty()) {
    return InvalidArgument(fmt::format("{}.{}: must not be empty", where, key));
  }
  return Status::Ok();
}

// An optional array of strings; keeps the first kMaxListItems.
Status OptStringList(const Json& obj, const char* key, const std::string& where,
                     std::vector<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return Status::Ok();
  }
  if (!it->is_array()) {
    return InvalidArgument(fmt::format("{}.{}: must be an array of strings", where, key));
  }
  for (const auto& v : *it) {
    if (!v.is_string()) {
      return InvalidArgument(fmt::format("{}.{}: must be an array of strings", where, key));
    }
    const auto& s = v.get_ref<const std::string&>();
    if (s.size() > kMaxFieldBytes) {
      return InvalidArgument(
          fmt::format("{}.{}: an item is longer than {} bytes", where, key, kMaxFieldBytes));
    }
    if (out.size() < kMaxListItems) {
      out.push_back(s);
    }
  }
  return Status::Ok();
}

Status TimeField(const Json& obj, const char* key, const std::string& where,
                 std::optional<minutes> default_offset, TimePoint& out) {
  std::string text;
  VIGIL_RETURN_IF_ERROR(ReqStringField(obj, key, where, text));
  auto t = ParseRfc3339(text, default_offset);
  if (!t) {
    return InvalidArgument(fmt::format("{}.{}: {}", where, key, t.error().message()));
  }
  out = *t;
  return Status::Ok();
}

Result<Json> ParseToolJson(std::string_view text) {
  // Depth: restic's array > object > paths array; borg's object > archives > object. 8 is ample.
  return json::Parse(text, {.max_bytes = kMaxBackupJsonBytes, .max_depth = 8});
}

std::string FormatUtcMinute(TimePoint t) {
  auto day = std::chrono::floor<days>(t);
  std::chrono::year_month_day ymd(day);
  std::chrono::hh_mm_ss hms(std::chrono::floor<seconds>(t - day));
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02} UTC", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count());
}

// "45 s", "12 min", "30 h", "9 d".
std::string FormatAge(seconds age) {
  int64_t s = age.count();
  if (s < 120) {
    return fmt::format("{} s", s);
  }
  if (s < 2 * 3600) {
    return fmt::format("{} min", s / 60);
  }
  if (s < 72 * 3600) {
    return fmt::format("{} h", s / 3600);
  }
  return fmt::format("{} d", s / 86400);
}

std::string FirstNonEmptyLine(std::string_view text) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = TrimSpace(text.substr(0, nl));
    if (!line.empty()) {
      return SanitizeText(line, kMaxMessageBytes - 60);
    }
    if (nl == std::string_view::npos) {
      break;
    }
    text.remove_prefix(nl + 1);
  }
  return "";
}

}  // namespace

Result<std::vector<BackupSnapshot>> ParseResticSnapshots(std::string_view text) {
  VIGIL_ASSIGN_OR_RETURN(Json j, ParseToolJson(text));
  if (!j.is_array()) {
    return InvalidArgument("restic snapshots: expected a JSON array");
  }
  if (j.size() > kMaxSnapshots) {
    return InvalidArgument(fmt::format("restic snapshots: more than {} snapshots", kMaxSnapshots));
  }
  std::vector<BackupSnapshot> out;
  out.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const Json& e = j[i];
    std::string where = fmt::format("restic snapshots[{}]", i);
    if (!e.is_object()) {
      return InvalidArgument(where + ": must be an object");
    }
    BackupSnapshot snap;
    VIGIL_RETURN_IF_ERROR(TimeField(e, "time", where, std::nullopt, snap.time));
    VIGIL_RETURN_IF_ERROR(ReqStringField(e, "id", where, snap.id));
    VIGIL_RETURN_IF_ERROR(OptStringField(e, "short_id", where, snap.name));
    VIGIL_RETURN_IF_ERROR(OptStringField(e, "hostname", where, snap.hostname));
    VIGIL_RETURN_IF_ERROR(OptStringList(e, "paths", where, snap.paths));
    VIGIL_RETURN_IF_ERROR(OptStringList(e, "tags", where, snap.tags));
    out.push_back(std::move(snap));
  }
  return out;
}

Result<std::vector<BackupSnapshot>> ParseBorgList(std::string_view text, minutes utc_offset) {
  if (utc_offset > hours(18) || utc_offset < -hours(18)) {
    return InvalidArgument("borg list: utc_offset beyond +-18 h");
  }
  VIGIL_ASSIGN_OR_RETURN(Json j, ParseToolJson(text));
  if (!j.is_object()) {
    return InvalidArgument("borg list: expected a JSON object");
  }
  auto it = j.find("archives");
  if (it == j.end() || !it->is_array()) {
    return InvalidArgument("borg list: expected an \"archives\" array");
  }
  const Json& archives = *it;
  if (archives.size() > kMaxSnapshots) {
    return InvalidArgument(fmt::format("borg list: more than {} archives", kMaxSnapshots));
  }
  std::vector<BackupSnapshot> out;
  out.reserve(archives.size());
  for (size_t i = 0; i < archives.size(); ++i) {
    const Json& e = archives[i];
    std::string where = fmt::format("borg archives[{}]", i);
    if (!e.is_object()) {
      return InvalidArgument(where + ": must be an object");
    }
    BackupSnapshot snap;
    // "time" is the archive's start in borg 1.2 (same as "start"); older versions had only one.
    const char* time_key = e.contains("time") ? "time" : "start";
    VIGIL_RETURN_IF_ERROR(TimeField(e, time_key, where, utc_offset, snap.time));
    const char* name_key = e.contains("name") ? "name" : "archive";
    VIGIL_RETURN_IF_ERROR(ReqStringField(e, name_key, where, snap.name));
    VIGIL_RETURN_IF_ERROR(OptStringField(e, "id", where, snap.id));
    out.push_back(std::move(snap));
  }
  return out;
}

proto::CheckResult EvaluateBackup(const std::vector<BackupSnapshot>& snapshots, TimePoint now,
                                  hours warn_age, hours crit_age, std::string target) {
  proto::CheckResult r;
  r.check = "backup";
  r.target = std::move(target);
  r.metrics.push_back(
      {.name = "backup.snapshots", .value = static_cast<double>(snapshots.size()), .min = 0});
  if (snapshots.empty()) {
    r.status = proto::CheckStatus::kCritical;
    r.message = "no snapshots";
    return r;
  }
  const BackupSnapshot* newest = &snapshots.front();
  for (const auto& s : snapshots) {
    if (s.time > newest->time) {
      newest = &s;
    }
  }
  auto age = std::chrono::floor<seconds>(now - newest->time);
  r.metrics.push_back({.name = "backup.age_seconds",
                       .value = static_cast<double>(age.count()),
                       .unit = "s",
                       .warn = static_cast<double>(seconds(warn_age).count()),
                       .crit = static_cast<double>(seconds(crit_age).count())});
  r.details["newest_time"] = FormatRfc3339(newest->time);
  if (!newest->id.empty()) {
    r.details["newest_id"] = SanitizeText(newest->id, 128);
  }
  if (!newest->name.empty()) {
    r.details["newest_name"] = SanitizeText(newest->name, 256);
  }
  if (!newest->hostname.empty()) {
    r.details["hostname"] = SanitizeText(newest->hostname, 256);
  }
  std::string when = FormatUtcMinute(newest->time);
  if (now - newest->time < -kBackupFutureTolerance) {
    r.status = proto::CheckStatus::kWarning;
    r.message = fmt::format("newest snapshot is dated {} in the future ({}): clock skew?",
                            FormatAge(-age), when);
    r.details["clock_skew"] = "true";
    return r;
  }
  age = std::max(age, seconds(0));
  if (age >= crit_age) {
    r.status = proto::CheckStatus::kCritical;
  } else if (age >= warn_age) {
    r.status = proto::CheckStatus::kWarning;
  } else {
    r.status = proto::CheckStatus::kOk;
  }
  r.message = fmt::format("newest snapshot {} old ({})", FormatAge(age), when);
  return r;
}

proto::CheckResult ClassifyBackupToolError(std::string_view tool, int exit_code,
                                           std::string_view stderr_text, std::string target) {
  proto::CheckResult r;
  r.check = "backup";
  r.target = std::move(target);
  std::string name = SanitizeText(tool, 32);
  bool borg = tool == "borg";
  bool restic = tool == "restic";
  r.details["exit_code"] = std::to_string(exit_code);
  std::string_view head = stderr_text.substr(0, 64 * 1024);  // messages come first
  if (!head.empty()) {
    r.details["stderr"] = SanitizeText(TrimSpace(head), kMaxStderrDetailBytes, /*one_line=*/false);
  }
  // Exit codes: restic 0.17 has 10 (no repository), 11 (lock failed), 12 (wrong password); borg
  // 1.4 has 13 (Repository.DoesNotExist), 52 (PassphraseWrong), 70..75 (lock errors). Older
  // versions exit 1 (restic) or 2 (borg) and only the text tells.
  bool wrong_password =
      ContainsNoCase(head, "wrong password or no key found") ||
      (ContainsNoCase(head, "passphrase supplied in") && ContainsNoCase(head, "is incorrect")) ||
      (restic && exit_code == 12) || (borg && exit_code == 52);
  bool missing_repo =
      ContainsNoCase(head, "Is there a repository at the following location?") ||
      ContainsNoCase(head, "repository does not exist") ||
      (ContainsNoCase(head, "Repository ") && ContainsNoCase(head, "does not exist")) ||
      ContainsNoCase(head, "is not a valid repository") || (restic && exit_code == 10) ||
      (borg && exit_code == 13);
  bool locked = ContainsNoCase(head, "repository is already locked") ||
                ContainsNoCase(head, "unable to create lock") ||
                ContainsNoCase(head, "Failed to create/acquire the lock") ||
                (restic && exit_code == 11) || (borg && exit_code >= 70 && exit_code <= 75);
  if (wrong_password) {
    r.status = proto::CheckStatus::kCritical;
    r.message = fmt::format("{}: wrong repository password (no key found for it)", name);
  } else if (missing_repo) {
    r.status = proto::CheckStatus::kCritical;
    r.message = fmt::format("{}: repository not found (missing, unmounted or wrong path)", name);
  } else if (locked) {
    r.status = proto::CheckStatus::kWarning;
    r.message = fmt::format("{}: repository is locked by another process", name);
  } else {
    r.status = proto::CheckStatus::kUnknown;
    std::string line = FirstNonEmptyLine(head);
    r.message = line.empty() ? fmt::format("{} failed with exit code {}", name, exit_code)
                             : fmt::format("{} failed (exit code {}): {}", name, exit_code, line);
  }
  return r;
}

Result<TimePoint> ParseMarkerFile(std::string_view content, TimePoint mtime) {
  if (content.size() >= 3 && content.substr(0, 3) == "\xEF\xBB\xBF") {
    content.remove_prefix(3);  // a BOM from Windows editors
  }
  std::string_view line = TrimSpace(content.substr(0, content.find('\n')));
  if (line.empty()) {
    return mtime;
  }
  if (line.size() > 64) {
    return mtime;  // no time is that long: free text
  }
  // Unix seconds: digits with an optional fraction.
  size_t digits = 0;
  while (digits < line.size() && IsDigit(line[digits])) {
    ++digits;
  }
  if (digits > 0 && (digits == line.size() || line[digits] == '.')) {
    std::string_view whole = line.substr(0, digits);
    std::string_view frac = digits < line.size() ? line.substr(digits + 1) : std::string_view();
    if (!std::all_of(frac.begin(), frac.end(), IsDigit) || (digits < line.size() && frac.empty())) {
      return InvalidArgument("marker file: malformed Unix time");
    }
    int64_t secs = 0;
    auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), secs);
    // 253402300799 is 9999-12-31T23:59:59Z.
    if (ec != std::errc() || p != whole.data() + whole.size() || secs > 253402300799) {
      return InvalidArgument("marker file: Unix time out of range");
    }
    int64_t ms = 0;
    for (size_t k = 0; k < 3; ++k) {
      ms = ms * 10 + (k < frac.size() ? frac[k] - '0' : 0);
    }
    return FromUnixMillis(secs * 1000 + ms);
  }
  // An RFC 3339 time: starts like a date.
  if (digits == 4 && line.size() > 4 && line[4] == '-') {
    auto t = ParseRfc3339(line);
    if (!t) {
      return InvalidArgument("marker file: " + t.error().message());
    }
    return *t;
  }
  return mtime;
}

}  // namespace vigil::checks
