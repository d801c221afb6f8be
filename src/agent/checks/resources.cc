#include "agent/checks/resources.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include "core/strings.h"

namespace vigil::checks {
namespace {

using proto::CheckResult;
using proto::CheckStatus;
using proto::Metric;

constexpr size_t kMaxMetricNameLength = 200;  // proto::kMaxNameLength
constexpr size_t kMaxMountPointBytes = 4096;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Splits `line` at runs of spaces and tabs.
std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) {
      ++i;
    }
    size_t start = i;
    while (i < line.size() && !IsSpace(line[i])) {
      ++i;
    }
    if (i > start) {
      out.push_back(line.substr(start, i - start));
    }
  }
  return out;
}

// Calls f(line) for each line of `text` until f returns false.
template <typename F>
void ForEachLine(std::string_view text, F&& f) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!f(line)) {
      return;
    }
  }
}

std::optional<uint64_t> ParseU64(std::string_view s) {
  uint64_t v = 0;
  if (s.empty()) {
    return std::nullopt;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

std::optional<double> ParseNonNegative(std::string_view s) {
  double v = 0;
  if (s.empty()) {
    return std::nullopt;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v) || v < 0) {
    return std::nullopt;
  }
  return v;
}

Status CheckSize(std::string_view text, std::string_view what) {
  if (text.size() > kMaxProcFileBytes) {
    return PayloadTooLarge(std::string(what) + " is larger than 4 MiB");
  }
  return Status();
}

// Percent of part in whole, 0 for an empty whole.
double Percent(double part, double whole) { return whole > 0 ? part * 100.0 / whole : 0.0; }

// Rounded to one decimal, so that metrics and messages agree.
double Round1(double v) { return std::round(v * 10.0) / 10.0; }

CheckStatus StatusFor(double percent, const proto::PercentThresholds& t) {
  if (percent >= t.crit) {
    return CheckStatus::kCritical;
  }
  if (percent >= t.warn) {
    return CheckStatus::kWarning;
  }
  return CheckStatus::kOk;
}

// "(warning at 85%)", "(critical at 95%)" or "".
std::string ThresholdNote(CheckStatus s, const proto::PercentThresholds& t) {
  if (s == CheckStatus::kCritical) {
    return fmt::format(" (critical at {:g}%)", t.crit);
  }
  if (s == CheckStatus::kWarning) {
    return fmt::format(" (warning at {:g}%)", t.warn);
  }
  return "";
}

Metric PercentMetric(std::string name, double value, const proto::PercentThresholds& t) {
  Metric m;
  m.name = std::move(name);
  m.value = Round1(value);
  m.unit = "%";
  m.warn = t.warn;
  m.crit = t.crit;
  m.min = 0;
  m.max = 100;
  return m;
}

Metric PlainMetric(std::string name, double value, std::string unit) {
  Metric m;
  m.name = std::move(name);
  m.value = value;
  m.unit = std::move(unit);
  return m;
}

// A mount point as part of a metric name: only the characters batch identifiers allow.
std::string MetricSafe(std::string_view s) {
  std::string out;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("._-:/@+=%#").find(c) != std::string_view::npos;
    out.push_back(ok ? c : '_');
  }
  return out;
}

std::string DecodeMountEscapes(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && s.size() - i >= 4) {
      int v = 0;
      bool octal = true;
      for (size_t k = 1; k <= 3; ++k) {
        char c = s[i + k];
        if (c < '0' || c > '7') {
          octal = false;
          break;
        }
        v = v * 8 + (c - '0');
      }
      if (octal && v <= 0xff && v != 0) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool UnderFolder(std::string_view path, std::string_view folder) {
  return path == folder || (path.size() > folder.size() &&
                            path.substr(0, folder.size()) == folder && path[folder.size()] == '/');
}

}  // namespace

uint64_t CpuTimes::Total() const {
  // Saturating: a hostile /proc cannot make the total wrap.
  uint64_t parts[] = {user, nice, system, idle, iowait, irq, softirq, steal};
  uint64_t total = 0;
  for (uint64_t p : parts) {
    total = p > std::numeric_limits<uint64_t>::max() - total ? std::numeric_limits<uint64_t>::max()
                                                             : total + p;
  }
  return total;
}

Result<CpuTimes> ParseProcStatCpu(std::string_view proc_stat) {
  VIGIL_RETURN_IF_ERROR(CheckSize(proc_stat, "/proc/stat"));
  std::optional<std::string_view> cpu_line;
  ForEachLine(proc_stat, [&](std::string_view line) {
    if (line.substr(0, 4) == "cpu " || line.substr(0, 4) == "cpu\t") {
      cpu_line = line;
      return false;
    }
    return true;
  });
  if (!cpu_line) {
    return InvalidArgument("/proc/stat has no \"cpu\" line");
  }
  std::vector<std::string_view> f = Fields(*cpu_line);
  if (f.size() < 5) {
    return InvalidArgument("/proc/stat: the \"cpu\" line has fewer than 4 counters");
  }
  uint64_t* slots[8];
  CpuTimes t;
  slots[0] = &t.user;
  slots[1] = &t.nice;
  slots[2] = &t.system;
  slots[3] = &t.idle;
  slots[4] = &t.iowait;
  slots[5] = &t.irq;
  slots[6] = &t.softirq;
  slots[7] = &t.steal;
  for (size_t i = 1; i < f.size() && i <= 8; ++i) {
    auto v = ParseU64(f[i]);
    if (!v) {
      return InvalidArgument(fmt::format("/proc/stat: cpu counter {} is not a number", i));
    }
    *slots[i - 1] = *v;
  }
  return t;
}

std::optional<CpuUsage> ComputeCpuUsage(const CpuTimes& before, const CpuTimes& after) {
  const uint64_t b[] = {before.user,   before.nice, before.system,  before.idle,
                        before.iowait, before.irq,  before.softirq, before.steal};
  const uint64_t a[] = {after.user,   after.nice, after.system,  after.idle,
                        after.iowait, after.irq,  after.softirq, after.steal};
  double d[8];
  double total = 0;
  for (size_t i = 0; i < 8; ++i) {
    if (a[i] < b[i]) {
      return std::nullopt;
    }
    d[i] = static_cast<double>(a[i] - b[i]);
    total += d[i];
  }
  if (!(total > 0) || !std::isfinite(total)) {
    return std::nullopt;
  }
  CpuUsage u;
  u.busy_percent = Percent(d[0] + d[1] + d[2] + d[5] + d[6], total);
  u.iowait_percent = Percent(d[4], total);
  u.steal_percent = Percent(d[7], total);
  return u;
}

Result<LoadAverage> ParseLoadavg(std::string_view text) {
  VIGIL_RETURN_IF_ERROR(CheckSize(text, "/proc/loadavg"));
  std::string_view first = text.substr(0, text.find('\n'));
  std::vector<std::string_view> f = Fields(first);
  if (f.size() < 3) {
    return InvalidArgument("/proc/loadavg has fewer than three numbers");
  }
  auto l1 = ParseNonNegative(f[0]);
  auto l5 = ParseNonNegative(f[1]);
  auto l15 = ParseNonNegative(f[2]);
  if (!l1 || !l5 || !l15) {
    return InvalidArgument("/proc/loadavg: a load average is not a non-negative number");
  }
  return LoadAverage{*l1, *l5, *l15};
}

Result<MemInfo> ParseMeminfo(std::string_view text) {
  VIGIL_RETURN_IF_ERROR(CheckSize(text, "/proc/meminfo"));
  std::map<std::string_view, uint64_t> kb;
  std::string error;
  ForEachLine(text, [&](std::string_view line) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return true;
    }
    std::string_view key = line.substr(0, colon);
    static constexpr std::string_view kWanted[] = {
        "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapTotal", "SwapFree"};
    if (std::find(std::begin(kWanted), std::end(kWanted), key) == std::end(kWanted)) {
      return true;
    }
    std::vector<std::string_view> f = Fields(line.substr(colon + 1));
    std::optional<uint64_t> v = f.empty() ? std::nullopt : ParseU64(f[0]);
    uint64_t factor = 1;
    if (f.size() >= 2) {
      if (f[1] == "kB") {
        factor = 1024;
      } else {
        v.reset();
      }
    }
    if (!v || *v > std::numeric_limits<uint64_t>::max() / factor) {
      error = fmt::format("/proc/meminfo: {} is not a valid size", SanitizeText(key, 64));
      return false;
    }
    kb.emplace(key, *v * factor);
    return true;
  });
  if (!error.empty()) {
    return InvalidArgument(error);
  }
  auto get = [&](std::string_view k) -> std::optional<uint64_t> {
    auto it = kb.find(k);
    return it == kb.end() ? std::nullopt : std::optional<uint64_t>(it->second);
  };
  MemInfo m;
  auto total = get("MemTotal");
  if (!total || *total == 0) {
    return InvalidArgument("/proc/meminfo has no MemTotal");
  }
  m.total_bytes = *total;
  if (auto avail = get("MemAvailable")) {
    m.available_bytes = *avail;
  } else if (auto free = get("MemFree")) {
    // Saturating sum of MemFree + Buffers + Cached (each <= 2^64 / 1024 * 1024).
    uint64_t sum = *free;
    for (uint64_t part : {get("Buffers").value_or(0), get("Cached").value_or(0)}) {
      sum = part > std::numeric_limits<uint64_t>::max() - sum ? std::numeric_limits<uint64_t>::max()
                                                              : sum + part;
    }
    m.available_bytes = sum;
    m.available_estimated = true;
  } else {
    return InvalidArgument("/proc/meminfo has neither MemAvailable nor MemFree");
  }
  m.available_bytes = std::min(m.available_bytes, m.total_bytes);
  m.swap_total_bytes = get("SwapTotal").value_or(0);
  m.swap_free_bytes = std::min(get("SwapFree").value_or(0), m.swap_total_bytes);
  return m;
}

Result<std::vector<MountEntry>> ParseMounts(std::string_view text) {
  VIGIL_RETURN_IF_ERROR(CheckSize(text, "the mount table"));
  std::vector<MountEntry> out;
  size_t lines = 0;
  bool too_many = false;
  ForEachLine(text, [&](std::string_view line) {
    if (++lines > kMaxMounts) {
      too_many = true;
      return false;
    }
    std::vector<std::string_view> f = Fields(line);
    if (f.size() < 4) {
      return true;
    }
    MountEntry m;
    m.device = DecodeMountEscapes(f[0]);
    m.mount_point = DecodeMountEscapes(f[1]);
    m.fs_type = DecodeMountEscapes(f[2]);
    if (m.mount_point.empty() || m.mount_point[0] != '/' ||
        m.mount_point.size() > kMaxMountPointBytes) {
      return true;
    }
    std::string_view opts = f[3];
    while (!opts.empty()) {
      size_t comma = opts.find(',');
      if (opts.substr(0, comma) == "ro") {
        m.read_only = true;
      }
      opts = comma == std::string_view::npos ? std::string_view() : opts.substr(comma + 1);
    }
    out.push_back(std::move(m));
    return true;
  });
  if (too_many) {
    return PayloadTooLarge(fmt::format("the mount table has more than {} entries", kMaxMounts));
  }
  return out;
}

bool IsPseudoFileSystem(const MountEntry& m) {
  static constexpr std::string_view kPseudo[] = {"proc",        "sysfs",
                                                 "tmpfs",       "devtmpfs",
                                                 "devpts",      "securityfs",
                                                 "pstore",      "debugfs",
                                                 "tracefs",     "configfs",
                                                 "fusectl",     "mqueue",
                                                 "hugetlbfs",   "bpf",
                                                 "binfmt_misc", "autofs",
                                                 "rpc_pipefs",  "nsfs",
                                                 "efivarfs",    "ramfs",
                                                 "squashfs",    "selinuxfs",
                                                 "nfsd",        "devfs",
                                                 "fuse.lxcfs",  "fuse.gvfsd-fuse",
                                                 "fuse.portal", "fuse.snapfuse",
                                                 "iso9660",     "none",
                                                 "rootfs",      "cgroup",
                                                 "cgroup2"};
  if (std::find(std::begin(kPseudo), std::end(kPseudo), m.fs_type) != std::end(kPseudo)) {
    return true;
  }
  if (m.fs_type.rfind("cgroup", 0) == 0) {
    return true;
  }
  if (m.fs_type == "overlay" || m.fs_type == "aufs") {
    return m.mount_point != "/";
  }
  for (std::string_view folder : {"/proc", "/sys", "/dev", "/run", "/snap"}) {
    if (UnderFolder(m.mount_point, folder)) {
      return true;
    }
  }
  return false;
}

std::vector<MountEntry> RealFileSystems(const std::vector<MountEntry>& mounts,
                                        const std::vector<std::string>& ignore) {
  // device -> index in `out`
  std::map<std::string, size_t> by_device;
  std::map<std::string, size_t> by_mount_point;
  std::vector<MountEntry> out;
  for (const MountEntry& m : mounts) {
    if (IsPseudoFileSystem(m) ||
        std::find(ignore.begin(), ignore.end(), m.mount_point) != ignore.end()) {
      continue;
    }
    // A later mount on the same point hides the earlier one.
    if (auto it = by_mount_point.find(m.mount_point); it != by_mount_point.end()) {
      MountEntry& old = out[it->second];
      by_device.erase(old.device);
      old = m;
      by_device[m.device] = it->second;
      continue;
    }
    // Bind mounts show the same device; only block devices and network shares ("/dev/sda1",
    // "server:/export", "//server/share") name the storage, so only they are merged.
    bool names_storage =
        !m.device.empty() && (m.device[0] == '/' || m.device.find(':') != std::string::npos);
    if (names_storage) {
      if (auto it = by_device.find(m.device); it != by_device.end()) {
        MountEntry& old = out[it->second];
        if (m.mount_point.size() < old.mount_point.size()) {
          by_mount_point.erase(old.mount_point);
          old = m;
          by_mount_point[m.mount_point] = it->second;
        }
        continue;
      }
      by_device[m.device] = out.size();
    }
    by_mount_point[m.mount_point] = out.size();
    out.push_back(m);
  }
  std::sort(out.begin(), out.end(),
            [](const MountEntry& a, const MountEntry& b) { return a.mount_point < b.mount_point; });
  return out;
}

CheckResult EvaluateCpu(const CpuUsage& usage, const std::optional<LoadAverage>& load,
                        const proto::PercentThresholds& t) {
  CheckResult r;
  r.check = "cpu";
  double busy = Round1(usage.busy_percent);
  r.status = StatusFor(busy, t);
  r.message = fmt::format("CPU {:g}% busy{}", busy, ThresholdNote(r.status, t));
  if (usage.steal_percent >= 10) {
    r.message += fmt::format(", {:g}% stolen by the hypervisor", Round1(usage.steal_percent));
  }
  if (load) {
    r.message += fmt::format(", load {:.2f} {:.2f} {:.2f}", load->load1, load->load5, load->load15);
  }
  r.metrics.push_back(PercentMetric("cpu.busy_percent", usage.busy_percent, t));
  Metric iowait = PlainMetric("cpu.iowait_percent", Round1(usage.iowait_percent), "%");
  iowait.min = 0;
  iowait.max = 100;
  r.metrics.push_back(iowait);
  Metric steal = PlainMetric("cpu.steal_percent", Round1(usage.steal_percent), "%");
  steal.min = 0;
  steal.max = 100;
  r.metrics.push_back(steal);
  if (load) {
    r.metrics.push_back(PlainMetric("cpu.load1", load->load1, ""));
    r.metrics.push_back(PlainMetric("cpu.load5", load->load5, ""));
    r.metrics.push_back(PlainMetric("cpu.load15", load->load15, ""));
  }
  return r;
}

CheckResult EvaluateMemory(const MemInfo& m, const proto::PercentThresholds& t) {
  CheckResult r;
  r.check = "memory";
  uint64_t available = std::min(m.available_bytes, m.total_bytes);
  double used = Round1(
      Percent(static_cast<double>(m.total_bytes - available), static_cast<double>(m.total_bytes)));
  r.status = StatusFor(used, t);
  r.message = fmt::format("memory {:g}% used, {} MiB of {} MiB available{}", used, available >> 20,
                          m.total_bytes >> 20, ThresholdNote(r.status, t));
  r.metrics.push_back(PercentMetric("memory.used_percent", used, t));
  r.metrics.push_back(PlainMetric("memory.total_bytes", static_cast<double>(m.total_bytes), "B"));
  r.metrics.push_back(PlainMetric("memory.available_bytes", static_cast<double>(available), "B"));
  if (m.available_estimated) {
    r.details["available"] = "estimated as MemFree + Buffers + Cached";
  }
  return r;
}

CheckResult EvaluateSwap(const MemInfo& m, const proto::PercentThresholds& t) {
  CheckResult r;
  r.check = "swap";
  if (m.swap_total_bytes == 0) {
    r.status = CheckStatus::kOk;
    r.message = "no swap configured";
    r.metrics.push_back(PlainMetric("swap.total_bytes", 0, "B"));
    return r;
  }
  uint64_t free = std::min(m.swap_free_bytes, m.swap_total_bytes);
  double used = Round1(Percent(static_cast<double>(m.swap_total_bytes - free),
                               static_cast<double>(m.swap_total_bytes)));
  r.status = StatusFor(used, t);
  r.message = fmt::format("swap {:g}% used of {} MiB{}", used, m.swap_total_bytes >> 20,
                          ThresholdNote(r.status, t));
  r.metrics.push_back(PercentMetric("swap.used_percent", used, t));
  r.metrics.push_back(
      PlainMetric("swap.total_bytes", static_cast<double>(m.swap_total_bytes), "B"));
  return r;
}

CheckResult EvaluateDisk(const MountEntry& mount, const FsUsage& usage,
                         const proto::PercentThresholds& space,
                         const proto::PercentThresholds& inodes) {
  CheckResult r;
  r.check = "disk";
  r.target = SanitizeText(mount.mount_point, kMaxMountPointBytes);
  std::string prefix = "disk." + MetricSafe(mount.mount_point);
  if (prefix.size() + 28 > kMaxMetricNameLength) {
    prefix.resize(kMaxMetricNameLength - 28);
  }
  uint64_t free = std::min(usage.free_bytes, usage.total_bytes);
  uint64_t available = std::min(usage.available_bytes, free);
  double used_bytes = static_cast<double>(usage.total_bytes - free);
  double space_pct = Round1(Percent(used_bytes, used_bytes + static_cast<double>(available)));
  CheckStatus space_status = StatusFor(space_pct, space);
  r.metrics.push_back(PercentMetric(prefix + ".used_percent", space_pct, space));
  r.metrics.push_back(
      PlainMetric(prefix + ".total_bytes", static_cast<double>(usage.total_bytes), "B"));
  r.metrics.push_back(
      PlainMetric(prefix + ".available_bytes", static_cast<double>(available), "B"));

  std::string text =
      fmt::format("{} {:g}% used{}", r.target, space_pct, ThresholdNote(space_status, space));
  r.status = space_status;
  if (usage.total_inodes > 0) {
    uint64_t ifree = std::min(usage.free_inodes, usage.total_inodes);
    double inode_pct = Round1(Percent(static_cast<double>(usage.total_inodes - ifree),
                                      static_cast<double>(usage.total_inodes)));
    CheckStatus inode_status = StatusFor(inode_pct, inodes);
    r.metrics.push_back(PercentMetric(prefix + ".inodes_used_percent", inode_pct, inodes));
    if (inode_status != CheckStatus::kOk) {
      text += fmt::format(", inodes {:g}% used{}", inode_pct, ThresholdNote(inode_status, inodes));
    }
    r.status = proto::Worst(r.status, inode_status);
  }
  if (usage.total_bytes == 0) {
    r.status = CheckStatus::kUnknown;
    text = r.target + ": the file system reports a size of 0";
  }
  r.message = std::move(text);
  r.details["device"] = SanitizeText(mount.device, 1024);
  r.details["fs_type"] = SanitizeText(mount.fs_type, 128);
  if (mount.read_only) {
    r.details["read_only"] = "true";
  }
  return r;
}

}  // namespace vigil::checks
