#pragma once

// Parsers of the kernel's resource files (/proc/stat, /proc/loadavg, /proc/meminfo,
// /proc/self/mounts) and the threshold evaluation behind the agent's cpu, memory, swap and disk
// checks. Pure functions of text and numbers: the collectors (agent/collect/resources.cc) read the
// files and call statvfs().
//
// Thread safety: pure functions; call from any thread.
// Input: untrusted in the sense that nothing here trusts the text (a container may present a fake
// /proc, e.g. lxcfs): sizes are bounded, numbers are range-checked, nothing throws or aborts.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "proto/agent_config.h"
#include "proto/check.h"

namespace vigil::checks {

// Larger files are refused (a real /proc/self/mounts with thousands of mounts stays far below).
inline constexpr size_t kMaxProcFileBytes = 4u << 20;
inline constexpr size_t kMaxMounts = 10'000;

// The aggregate "cpu " line of /proc/stat, in clock ticks. guest and guest_nice are already
// included in user and nice, so they are not counted again.
struct CpuTimes {
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  uint64_t Total() const;
  bool operator==(const CpuTimes&) const = default;
};

// Errors: kInvalidArgument when there is no "cpu " line with at least 4 numbers, or a number is
// malformed or does not fit 64 bits; kPayloadTooLarge past kMaxProcFileBytes.
Result<CpuTimes> ParseProcStatCpu(std::string_view proc_stat);

// Percentages of the time between two samples. busy = user + nice + system + irq + softirq; steal
// (time the hypervisor gave to others) and iowait (idle while waiting for I/O) are reported on
// their own and are not "busy".
struct CpuUsage {
  double busy_percent = 0;
  double iowait_percent = 0;
  double steal_percent = 0;
};

// nullopt when no tick elapsed or a counter went backwards (a different CPU set, a reset).
std::optional<CpuUsage> ComputeCpuUsage(const CpuTimes& before, const CpuTimes& after);

struct LoadAverage {
  double load1 = 0, load5 = 0, load15 = 0;
};

// "0.69 1.05 1.36 3/96 17782". Errors: kInvalidArgument for fewer than three non-negative
// finite numbers.
Result<LoadAverage> ParseLoadavg(std::string_view text);

struct MemInfo {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;
  bool available_estimated = false;  // no MemAvailable (kernel < 3.14): MemFree+Buffers+Cached
  uint64_t swap_total_bytes = 0;
  uint64_t swap_free_bytes = 0;
};

// /proc/meminfo ("MemTotal:  24683620 kB"). Errors: kInvalidArgument without a positive MemTotal,
// without MemAvailable and MemFree, or with a value that is malformed or overflows; fields the
// kernel does not print (SwapTotal) read as 0. Available and swap free are clamped to their totals.
Result<MemInfo> ParseMeminfo(std::string_view text);

// One line of /proc/self/mounts, with the octal escapes (\040 space, \011 tab, \012 newline,
// \134 backslash) decoded.
struct MountEntry {
  std::string device;
  std::string mount_point;
  std::string fs_type;
  bool read_only = false;
  bool operator==(const MountEntry&) const = default;
};

// Every well-formed line; malformed lines (fewer than 4 fields, a relative mount point) are
// skipped. Errors: kPayloadTooLarge past kMaxProcFileBytes or kMaxMounts lines.
Result<std::vector<MountEntry>> ParseMounts(std::string_view text);

// True for file systems without disk space of their own: proc, sysfs, tmpfs, devtmpfs, cgroup*,
// squashfs (snaps, always full), overlay anywhere but "/" (a container's root is its real root),
// and anything mounted under /proc, /sys, /dev or /run. Network file systems (nfs, cifs) are real.
bool IsPseudoFileSystem(const MountEntry& m);

// The mounts the disk check looks at: real file systems, minus `ignore` (exact mount points),
// each device once (bind mounts of the same device: the shortest mount point is kept), sorted by
// mount point.
std::vector<MountEntry> RealFileSystems(const std::vector<MountEntry>& mounts,
                                        const std::vector<std::string>& ignore);

// What statvfs() says about one file system, in bytes and inodes.
struct FsUsage {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;       // including the blocks reserved for root
  uint64_t available_bytes = 0;  // for unprivileged users
  uint64_t total_inodes = 0;     // 0: the file system has no inode limit (btrfs, some network fs)
  uint64_t free_inodes = 0;
};

// Threshold evaluation. Each result carries percent metrics with unit "%", warn and crit set, min
// 0 and max 100, and a one-line message such as "/var 91% used (warning at 85%)".

// check "cpu", target "": metrics cpu.busy_percent, cpu.iowait_percent, cpu.steal_percent and,
// when given, cpu.load1/5/15 (unit "").
proto::CheckResult EvaluateCpu(const CpuUsage& usage, const std::optional<LoadAverage>& load,
                               const proto::PercentThresholds& t);
// check "memory": used = total - available. Metrics memory.used_percent, memory.total_bytes,
// memory.available_bytes.
proto::CheckResult EvaluateMemory(const MemInfo& m, const proto::PercentThresholds& t);
// check "swap": ok "no swap configured" when SwapTotal is 0. Metrics swap.used_percent,
// swap.total_bytes.
proto::CheckResult EvaluateSwap(const MemInfo& m, const proto::PercentThresholds& t);
// check "disk", target = mount point: space used as df computes it (used / (used + available)),
// and inodes when the file system has them; the worse of the two decides. Metrics
// "disk.<mount>.used_percent", "disk.<mount>.inodes_used_percent", "disk.<mount>.total_bytes".
proto::CheckResult EvaluateDisk(const MountEntry& mount, const FsUsage& usage,
                                const proto::PercentThresholds& space,
                                const proto::PercentThresholds& inodes);

}  // namespace vigil::checks
