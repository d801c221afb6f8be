#include "agent/checks/inventory_info.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <set>
#include <utility>

#include "core/strings.h"

namespace vigil::checks {
namespace {

constexpr int kMaxProcessors = 1 << 20;
// Year 9999's last second: the latest boot time proto::Inventory can carry.
constexpr int64_t kMaxUnixSeconds = 253402300799;

// Calls `f(line)` for each line of `text` (without its '\n').
template <typename F>
void ForEachLine(std::string_view text, F&& f) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!f(line)) {
      return;
    }
    if (nl == std::string_view::npos) {
      return;
    }
    text.remove_prefix(nl + 1);
  }
}

// A decimal number of only digits, without overflow.
std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 20) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) {
      return std::nullopt;
    }
    v = v * 10 + d;
  }
  return v;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// The value of an os-release line after '=': quotes removed, escapes in double quotes resolved.
std::string OsReleaseValue(std::string_view v) {
  v = TrimSpace(v);
  if (v.empty()) {
    return "";
  }
  std::string out;
  if (v.front() == '"') {
    for (size_t i = 1; i < v.size(); ++i) {
      char c = v[i];
      if (c == '"') {
        break;
      }
      if (c == '\\' && i + 1 < v.size()) {
        out.push_back(v[++i]);
        continue;
      }
      out.push_back(c);
    }
    return out;
  }
  if (v.front() == '\'') {
    size_t end = v.find('\'', 1);
    return std::string(v.substr(1, end == std::string_view::npos ? end : end - 1));
  }
  return std::string(v);
}

bool IsOsReleaseKey(std::string_view k) {
  if (k.empty()) {
    return false;
  }
  for (char c : k) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

std::string FormatGiB(uint64_t bytes) {
  return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
}

}  // namespace

std::string CleanInventoryText(std::string_view s) {
  s = TrimSpace(s);
  // Bound the work before sanitizing: a few bytes more than the limit is enough to cut well.
  if (s.size() > kMaxInventoryText * 2) {
    s = s.substr(0, kMaxInventoryText * 2);
  }
  std::string clean = SanitizeText(s, std::numeric_limits<size_t>::max(), true);
  std::string_view t = TrimSpace(clean);
  if (t.size() <= kMaxInventoryText) {
    return std::string(t);
  }
  // Cut at a code point boundary.
  size_t cut = kMaxInventoryText;
  while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return std::string(TrimSpace(t.substr(0, cut)));
}

OsRelease ParseOsRelease(std::string_view text) {
  OsRelease os;
  std::string version_id;
  ForEachLine(text, [&](std::string_view line) {
    line = TrimSpace(line);
    if (line.empty() || line.front() == '#') {
      return true;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return true;
    }
    std::string_view key = line.substr(0, eq);
    if (!IsOsReleaseKey(key)) {
      return true;
    }
    std::string_view raw = line.substr(eq + 1);
    if (key == "NAME") {
      os.name = CleanInventoryText(OsReleaseValue(raw));
    } else if (key == "VERSION") {
      os.version = CleanInventoryText(OsReleaseValue(raw));
    } else if (key == "VERSION_ID") {
      version_id = CleanInventoryText(OsReleaseValue(raw));
    } else if (key == "PRETTY_NAME") {
      os.pretty_name = CleanInventoryText(OsReleaseValue(raw));
    } else if (key == "ID") {
      os.id = CleanInventoryText(OsReleaseValue(raw));
    }
    return true;
  });
  if (os.version.empty()) {
    os.version = version_id;
  }
  return os;
}

CpuInfo ParseCpuInfo(std::string_view text) {
  CpuInfo info;
  // Candidates for the model, best first: "model name", "Processor", "cpu model", "cpu".
  std::array<std::string, 4> models;
  static constexpr std::array<std::string_view, 4> kModelKeys = {"model name", "Processor",
                                                                 "cpu model", "cpu"};
  ForEachLine(text, [&](std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return true;
    }
    std::string_view key = TrimSpace(line.substr(0, colon));
    std::string_view value = TrimSpace(line.substr(colon + 1));
    if (key == "processor") {
      if (info.processors < kMaxProcessors) {
        ++info.processors;
      }
      return true;
    }
    for (size_t i = 0; i < kModelKeys.size(); ++i) {
      if (key == kModelKeys[i] && models[i].empty() && !value.empty()) {
        models[i] = CleanInventoryText(value);
      }
    }
    return true;
  });
  for (const std::string& m : models) {
    if (!m.empty()) {
      info.model = m;
      break;
    }
  }
  return info;
}

std::optional<uint64_t> ParseMemTotalBytes(std::string_view meminfo) {
  std::optional<uint64_t> out;
  ForEachLine(meminfo, [&](std::string_view line) {
    if (!line.starts_with("MemTotal:")) {
      return true;
    }
    std::string_view rest = TrimSpace(line.substr(9));
    size_t end = 0;
    while (end < rest.size() && rest[end] >= '0' && rest[end] <= '9') {
      ++end;
    }
    auto n = ParseDecimal(rest.substr(0, end));
    std::string_view unit = TrimSpace(rest.substr(end));
    if (!n) {
      return false;
    }
    if (unit == "kB" || unit == "KB" || unit == "kiB") {
      if (*n <= std::numeric_limits<uint64_t>::max() / 1024) {
        out = *n * 1024;
      }
    } else if (unit.empty()) {
      out = *n;
    }
    return false;
  });
  return out;
}

std::string CleanDmiValue(std::string_view raw) {
  std::string v = CleanInventoryText(raw);
  static constexpr std::string_view kPlaceholders[] = {"to be filled by o.e.m.",
                                                       "to be filled by oem",
                                                       "default string",
                                                       "system serial number",
                                                       "system product name",
                                                       "system manufacturer",
                                                       "system version",
                                                       "not specified",
                                                       "not applicable",
                                                       "not available",
                                                       "0123456789",
                                                       "123456789",
                                                       "none",
                                                       "n/a",
                                                       "na",
                                                       "oem",
                                                       "o.e.m.",
                                                       "unknown",
                                                       "invalid",
                                                       "chassis serial number",
                                                       "base board serial number",
                                                       "serial number",
                                                       "type1productconfigid",
                                                       "empty",
                                                       "xxxxxxxxxx"};
  std::string lower = Lower(v);
  for (std::string_view p : kPlaceholders) {
    if (lower == p) {
      return "";
    }
  }
  // "00000000", "FFFFFFFF", "........", "          ": one repeated filler character.
  if (!v.empty() && std::all_of(v.begin(), v.end(), [&](char c) { return c == v.front(); }) &&
      (v.front() == '0' || v.front() == 'F' || v.front() == 'f' || v.front() == '.' ||
       v.front() == '-' || v.front() == '*' || v.front() == 'X' || v.front() == 'x')) {
    return "";
  }
  return v;
}

bool IsVirtualBlockDevice(std::string_view name) {
  return name.empty() || name.starts_with("loop") || name.starts_with("ram") ||
         name.starts_with("zram") || name.starts_with("dm-");
}

std::optional<uint64_t> ParseBlockSizeBytes(std::string_view size_file) {
  auto sectors = ParseDecimal(TrimSpace(size_file));
  if (!sectors || *sectors > std::numeric_limits<uint64_t>::max() / 512) {
    return std::nullopt;
  }
  return *sectors * 512;
}

std::string DiskSerial(std::string_view serial_file, std::string_view wwid_file) {
  std::string serial = CleanDmiValue(serial_file);
  if (!serial.empty()) {
    return serial;
  }
  std::string_view wwid = TrimSpace(wwid_file);
  if (wwid.starts_with("t10.")) {
    // "t10.ATA     QEMU HARDDISK                           QM00001": the last word.
    size_t space = wwid.find_last_of(" \t");
    if (space == std::string_view::npos) {
      return "";
    }
    return CleanDmiValue(wwid.substr(space + 1));
  }
  return CleanDmiValue(wwid);
}

std::string ParseMacAddress(std::string_view address_file) {
  std::string mac = Lower(TrimSpace(address_file));
  if (mac.size() < 2 || (mac.size() + 1) % 3 != 0 || (mac.size() + 1) / 3 > 32) {
    return "";
  }
  bool zero = true;
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i % 3 == 2) {
      if (mac[i] != ':') {
        return "";
      }
    } else if (HexDigitValue(mac[i]) < 0) {
      return "";
    } else if (mac[i] != '0') {
      zero = false;
    }
  }
  return zero ? "" : mac;
}

int64_t CountDpkgInstalled(std::string_view status_file) {
  int64_t count = 0;
  bool counted = false;  // this paragraph's package was counted already
  ForEachLine(status_file, [&](std::string_view line) {
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (TrimSpace(line).empty()) {
      counted = false;
      return true;
    }
    if (!counted && line.starts_with("Status:")) {
      // "Status: install ok installed": want, error flag, state. Held packages are installed too.
      std::string_view v = TrimSpace(line.substr(7));
      if (v == "install ok installed" || v == "hold ok installed") {
        ++count;
        counted = true;
      }
    }
    return true;
  });
  return count;
}

std::optional<TimePoint> ParseBootTime(std::string_view proc_stat) {
  std::optional<TimePoint> out;
  ForEachLine(proc_stat, [&](std::string_view line) {
    if (!line.starts_with("btime ")) {
      return true;
    }
    auto s = ParseDecimal(TrimSpace(line.substr(6)));
    if (s && *s <= static_cast<uint64_t>(kMaxUnixSeconds)) {
      out = FromUnixMillis(static_cast<int64_t>(*s) * 1000);
    }
    return false;
  });
  return out;
}

std::vector<std::string> ParseUtmpUsers(std::string_view utmp_file) {
  constexpr size_t kRecord = 384;
  constexpr size_t kUserOffset = 44;
  constexpr size_t kUserSize = 32;
  constexpr int kUserProcess = 7;
  std::set<std::string> users;
  for (size_t off = 0; off + kRecord <= utmp_file.size(); off += kRecord) {
    std::string_view rec = utmp_file.substr(off, kRecord);
    // ut_type: a short in the machine's byte order (little-endian on the platforms we ship).
    int type = static_cast<unsigned char>(rec[0]) | (static_cast<unsigned char>(rec[1]) << 8);
    if (type != kUserProcess) {
      continue;
    }
    std::string_view user = rec.substr(kUserOffset, kUserSize);
    user = user.substr(0, user.find('\0'));
    std::string clean = CleanInventoryText(user);
    if (!clean.empty() && users.size() < kMaxInventoryUsers) {
      users.insert(std::move(clean));
    }
  }
  return {users.begin(), users.end()};
}

std::string InventorySummary(const proto::Inventory& inv) {
  std::vector<std::string> parts;
  std::string os = inv.os_name;
  if (!inv.os_version.empty()) {
    os += (os.empty() ? "" : " ") + inv.os_version;
  }
  if (!os.empty()) {
    parts.push_back(std::move(os));
  }
  if (inv.cpu_cores > 0) {
    parts.push_back(fmt::format("{} CPU{}", inv.cpu_cores, inv.cpu_cores == 1 ? "" : "s"));
  }
  if (inv.memory_bytes > 0) {
    parts.push_back(FormatGiB(inv.memory_bytes) + " RAM");
  }
  parts.push_back(fmt::format("{} disk{}", inv.disks.size(), inv.disks.size() == 1 ? "" : "s"));
  std::string out;
  for (const std::string& p : parts) {
    out += (out.empty() ? "" : ", ") + p;
  }
  return out;
}

proto::CheckResult EvaluateInventory(const proto::Inventory& inv, TimePoint now) {
  proto::CheckResult r;
  r.check = "inventory";
  r.status = proto::CheckStatus::kOk;
  r.message = InventorySummary(inv);
  r.metrics.push_back({.name = "cpu_cores", .value = static_cast<double>(inv.cpu_cores)});
  r.metrics.push_back(
      {.name = "memory_bytes", .value = static_cast<double>(inv.memory_bytes), .unit = "B"});
  r.metrics.push_back({.name = "package_count", .value = static_cast<double>(inv.package_count)});
  r.metrics.push_back({.name = "disk_count", .value = static_cast<double>(inv.disks.size())});
  if (inv.last_boot && *inv.last_boot <= now) {
    auto up = std::chrono::duration_cast<std::chrono::seconds>(now - *inv.last_boot);
    r.metrics.push_back({.name = "uptime", .value = static_cast<double>(up.count()), .unit = "s"});
  }
  std::string os = inv.os_name;
  if (!inv.os_version.empty()) {
    os += (os.empty() ? "" : " ") + inv.os_version;
  }
  const std::pair<const char*, const std::string*> details[] = {{"hostname", &inv.hostname},
                                                                {"os", &os},
                                                                {"kernel", &inv.kernel},
                                                                {"architecture", &inv.architecture},
                                                                {"manufacturer", &inv.manufacturer},
                                                                {"model", &inv.model},
                                                                {"serial", &inv.serial},
                                                                {"cpu_model", &inv.cpu_model}};
  for (const auto& [key, value] : details) {
    if (!value->empty()) {
      r.details.emplace(key, *value);
    }
  }
  return r;
}

}  // namespace vigil::checks
