#pragma once

// Parsers for the agent's inventory (what the machine is) on Linux: /etc/os-release,
// /proc/cpuinfo, /proc/meminfo, DMI values under /sys/class/dmi/id, block devices under
// /sys/block, network interfaces under /sys/class/net, the dpkg status file, /proc/stat and the
// utmp file of logged-in users; plus the `inventory` check's result built from a proto::Inventory.
//
// Everything here is a pure function of text: the collector (agent/collect/inventory.cc) reads the
// files, with a size limit, and passes their content. The files are untrusted in the sense that a
// broken or hostile system (a container image, a tampered /etc) may contain anything: the parsers
// never throw and never abort, accept any bytes, run in linear time and return bounded values
// (one line of valid UTF-8, at most kMaxInventoryText bytes per string).
//
// Thread safety: free functions without shared state; call from any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "proto/check.h"
#include "proto/inventory.h"

namespace vigil::checks {

// Strings the parsers return are cut to this many bytes (at a code point), as proto::Inventory's
// text fields allow 256 characters.
inline constexpr size_t kMaxInventoryText = 200;
// At most this many users are returned by ParseUtmpUsers (proto::Inventory allows 1024).
inline constexpr size_t kMaxInventoryUsers = 1024;

// `s` without surrounding whitespace, as valid UTF-8 on one line (control characters become
// spaces), at most kMaxInventoryText bytes.
std::string CleanInventoryText(std::string_view s);

// os-release(5): KEY=value lines, values optionally in double or single quotes with shell
// backslash escapes in double quotes; comments and malformed lines are skipped.
struct OsRelease {
  std::string name;         // NAME: "Debian GNU/Linux"
  std::string version;      // VERSION: "12 (bookworm)"; else VERSION_ID
  std::string pretty_name;  // PRETTY_NAME: "Debian GNU/Linux 12 (bookworm)"
  std::string id;           // ID: "debian"
  bool operator==(const OsRelease&) const = default;
};
OsRelease ParseOsRelease(std::string_view text);

// /proc/cpuinfo: the first "model name" (x86), else "Processor" / "cpu model" / "cpu" (older ARM,
// MIPS, POWER); and the number of "processor" entries (logical CPUs).
struct CpuInfo {
  std::string model;
  int processors = 0;
  bool operator==(const CpuInfo&) const = default;
};
CpuInfo ParseCpuInfo(std::string_view text);

// MemTotal of /proc/meminfo in bytes; nullopt when absent or malformed (or past 2^64 bytes).
std::optional<uint64_t> ParseMemTotalBytes(std::string_view meminfo);

// A DMI value (sys_vendor, product_name, product_serial...), trimmed; "" for the placeholders
// firmware writes when the vendor did not ("To Be Filled By O.E.M.", "Default string",
// "System Serial Number", "Not Specified", "0123456789", "None", all zeros or 'F's...).
std::string CleanDmiValue(std::string_view raw);

// True for block devices that are not disks and are left out of the inventory: loop, ram, zram
// and dm- (device-mapper) devices. md arrays, nvme, sd, vd, mmcblk... are listed.
bool IsVirtualBlockDevice(std::string_view name);

// /sys/block/<dev>/size (512-byte sectors) in bytes; nullopt when malformed or overflowing.
std::optional<uint64_t> ParseBlockSizeBytes(std::string_view size_file);

// A disk's serial from /sys/block/<dev>/device/serial, else from its wwid ("t10.ATA ...
// <serial>", "eui.0025388...", "naa.5000c500..."); "" when neither says anything useful.
std::string DiskSerial(std::string_view serial_file, std::string_view wwid_file);

// /sys/class/net/<if>/address, lowercased; "" for an all-zero or malformed address.
std::string ParseMacAddress(std::string_view address_file);

// The number of packages in a dpkg status file (/var/lib/dpkg/status) whose Status is
// "install ok installed" or "hold ok installed" (held packages are installed too).
int64_t CountDpkgInstalled(std::string_view status_file);

// The boot time from /proc/stat's "btime" line (seconds since the epoch); nullopt when absent,
// malformed or outside 1970..9999.
std::optional<TimePoint> ParseBootTime(std::string_view proc_stat);

// The user names of USER_PROCESS records in a Linux utmp file (struct utmp as glibc writes it on
// 64-bit and 32-bit Linux alike: 384-byte records, ut_type at 0, ut_user at 44, 32 bytes),
// deduplicated and sorted; a trailing partial record is ignored.
std::vector<std::string> ParseUtmpUsers(std::string_view utmp_file);

// "Debian GNU/Linux 12 (bookworm), 4 CPUs, 15.6 GiB RAM, 2 disks" (parts that are unknown are
// left out).
std::string InventorySummary(const proto::Inventory& inventory);

// The `inventory` check's result: status ok, the summary as message, metrics cpu_cores,
// memory_bytes, package_count, disk_count and uptime (seconds since last_boot, when known);
// details hostname, os, kernel, architecture, manufacturer, model, serial, cpu_model (when not
// empty).
proto::CheckResult EvaluateInventory(const proto::Inventory& inventory, TimePoint now);

}  // namespace vigil::checks
