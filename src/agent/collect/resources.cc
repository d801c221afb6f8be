// The cpu, memory, swap and disk collectors: files under /proc (SystemPaths) and statvfs().
// Parsing and thresholds are in agent/checks/resources.h.

#include <errno.h>
#include <sys/statvfs.h>

#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include "agent/checks/resources.h"
#include "agent/collect/linux_collectors.h"

namespace vigil::agent {
namespace {

using proto::CheckResult;
using proto::CheckStatus;

constexpr auto kFirstCpuSampleGap = std::chrono::milliseconds(250);

// A /proc file (its st_size is 0, so it is read to EOF), at most kMaxProcFileBytes + 1 bytes so
// that the parsers can refuse an oversized one.
Result<std::string> ReadProcFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFound("cannot read " + path + ": " + std::strerror(errno));
  }
  std::string out;
  char buf[16384];
  while (out.size() <= checks::kMaxProcFileBytes && (in.read(buf, sizeof buf) || in.gcount() > 0)) {
    out.append(buf, static_cast<size_t>(in.gcount()));
  }
  return out;
}

CheckResult Unknown(std::string_view check, std::string message, std::string target = "") {
  CheckResult r;
  r.check = std::string(check);
  r.target = std::move(target);
  r.status = CheckStatus::kUnknown;
  r.message = std::move(message);
  return r;
}

uint64_t SaturatingMul(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) {
    return std::numeric_limits<uint64_t>::max();
  }
  return a * b;
}

class CpuCollector final : public Collector {
 public:
  std::string_view name() const override { return "cpu"; }

  std::vector<CheckResult> Collect(const CollectContext& ctx) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string stat_path = ctx.paths.Path("/proc/stat");
    auto sample = [&]() -> Result<checks::CpuTimes> {
      VIGIL_ASSIGN_OR_RETURN(std::string text, ReadProcFile(stat_path));
      return checks::ParseProcStatCpu(text);
    };
    if (!previous_ || previous_root_ != ctx.paths.root) {
      auto first = sample();
      if (!first) {
        return {Unknown(name(), first.error().message())};
      }
      previous_ = *first;
      previous_root_ = ctx.paths.root;
      std::this_thread::sleep_for(kFirstCpuSampleGap);
    }
    auto now = sample();
    if (!now) {
      return {Unknown(name(), now.error().message())};
    }
    std::optional<checks::CpuUsage> usage = checks::ComputeCpuUsage(*previous_, *now);
    previous_ = *now;
    if (!usage) {
      return {Unknown(name(), "the CPU counters did not advance since the previous sample")};
    }
    std::optional<checks::LoadAverage> load;
    if (auto text = ReadProcFile(ctx.paths.Path("/proc/loadavg"))) {
      if (auto parsed = checks::ParseLoadavg(*text)) {
        load = *parsed;
      }
    }
    return {checks::EvaluateCpu(*usage, load, ctx.config.cpu)};
  }

 private:
  std::mutex mu_;
  std::optional<checks::CpuTimes> previous_;  // guarded by mu_
  std::string previous_root_;                 // guarded by mu_
};

Result<checks::MemInfo> ReadMeminfo(const CollectContext& ctx) {
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadProcFile(ctx.paths.Path("/proc/meminfo")));
  return checks::ParseMeminfo(text);
}

class MemoryCollector final : public Collector {
 public:
  std::string_view name() const override { return "memory"; }
  std::vector<CheckResult> Collect(const CollectContext& ctx) override {
    auto m = ReadMeminfo(ctx);
    if (!m) {
      return {Unknown(name(), m.error().message())};
    }
    return {checks::EvaluateMemory(*m, ctx.config.memory)};
  }
};

class SwapCollector final : public Collector {
 public:
  std::string_view name() const override { return "swap"; }
  std::vector<CheckResult> Collect(const CollectContext& ctx) override {
    auto m = ReadMeminfo(ctx);
    if (!m) {
      return {Unknown(name(), m.error().message())};
    }
    return {checks::EvaluateSwap(*m, ctx.config.swap)};
  }
};

class DiskCollector final : public Collector {
 public:
  std::string_view name() const override { return "disk"; }
  std::vector<CheckResult> Collect(const CollectContext& ctx) override {
    auto text = ReadProcFile(ctx.paths.Path("/proc/self/mounts"));
    if (!text) {
      text = ReadProcFile(ctx.paths.Path("/proc/mounts"));
    }
    if (!text) {
      return {Unknown(name(), text.error().message())};
    }
    auto mounts = checks::ParseMounts(*text);
    if (!mounts) {
      return {Unknown(name(), mounts.error().message())};
    }
    std::vector<checks::MountEntry> real =
        checks::RealFileSystems(*mounts, ctx.config.disk_ignore_mounts);
    if (real.empty()) {
      return {Unknown(name(), "no file systems with disk space found")};
    }
    std::vector<CheckResult> out;
    for (const checks::MountEntry& m : real) {
      struct statvfs st {};
      std::string path = ctx.paths.Path(m.mount_point);
      if (::statvfs(path.c_str(), &st) != 0) {
        out.push_back(Unknown(name(), m.mount_point + ": statvfs failed: " + std::strerror(errno),
                              m.mount_point));
        continue;
      }
      uint64_t frsize = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
      checks::FsUsage u;
      u.total_bytes = SaturatingMul(st.f_blocks, frsize);
      u.free_bytes = SaturatingMul(st.f_bfree, frsize);
      u.available_bytes = SaturatingMul(st.f_bavail, frsize);
      u.total_inodes = st.f_files;
      u.free_inodes = st.f_ffree;
      out.push_back(checks::EvaluateDisk(m, u, ctx.config.disk_space, ctx.config.disk_inodes));
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<Collector> MakeCpuCollector() { return std::make_unique<CpuCollector>(); }
std::unique_ptr<Collector> MakeMemoryCollector() { return std::make_unique<MemoryCollector>(); }
std::unique_ptr<Collector> MakeSwapCollector() { return std::make_unique<SwapCollector>(); }
std::unique_ptr<Collector> MakeDiskCollector() { return std::make_unique<DiskCollector>(); }

}  // namespace vigil::agent
