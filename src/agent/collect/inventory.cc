// The inventory of a Linux machine (CollectInventory) and the `inventory` collector: files under
// /etc, /proc, /sys and /var (SystemPaths), getifaddrs() and uname() for the live system only.
// Parsing is in agent/checks/inventory_info.h.

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/utsname.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/checks/inventory_info.h"
#include "agent/collect/linux_collectors.h"

namespace vigil::agent {
namespace {

using proto::CheckResult;
using proto::CheckStatus;
using proto::Inventory;

constexpr size_t kSmallFileBytes = 64 << 10;  // os-release, meminfo, sysfs and DMI values
constexpr size_t kProcFileBytes = 8 << 20;    // cpuinfo and stat of machines with many CPUs
constexpr size_t kDpkgStatusBytes = 64 << 20;
constexpr size_t kUtmpBytes = 4 << 20;
constexpr size_t kMaxDisks = 256;
constexpr size_t kMaxInterfaces = 256;
constexpr size_t kMaxAddresses = 64;

// The start of a file, at most `max_bytes` (a longer file is cut, which every parser tolerates);
// nullopt when it cannot be opened.
std::optional<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::string out;
  char buf[16384];
  while (out.size() < max_bytes && (in.read(buf, sizeof buf) || in.gcount() > 0)) {
    out.append(buf, std::min(static_cast<size_t>(in.gcount()), max_bytes - out.size()));
  }
  return out;
}

std::string ReadSmall(const SystemPaths& paths, const std::string& absolute) {
  return ReadFile(paths.Path(absolute), kSmallFileBytes).value_or("");
}

// The names in a folder, sorted; empty when it cannot be listed. At most `max` names.
std::vector<std::string> ListFolder(const std::string& path, size_t max) {
  std::vector<std::string> names;
  std::error_code ec;
  std::filesystem::directory_iterator it(path, ec);
  for (; !ec && it != std::filesystem::directory_iterator() && names.size() < max * 4;
       it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// "192.0.2.10/24" for an IPv4 or IPv6 address and its netmask; "" for other families.
std::string FormatAddress(const sockaddr* addr, const sockaddr* mask) {
  char text[INET6_ADDRSTRLEN] = {};
  int prefix = 0;
  if (addr->sa_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(addr);
    if (inet_ntop(AF_INET, &a->sin_addr, text, sizeof text) == nullptr) {
      return "";
    }
    if (mask != nullptr) {
      const auto* m = reinterpret_cast<const sockaddr_in*>(mask);
      prefix = std::popcount(static_cast<uint32_t>(m->sin_addr.s_addr));
    }
  } else if (addr->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(addr);
    if (inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text) == nullptr) {
      return "";
    }
    if (mask != nullptr) {
      const auto* m = reinterpret_cast<const sockaddr_in6*>(mask);
      for (unsigned char byte : m->sin6_addr.s6_addr) {
        prefix += std::popcount(static_cast<unsigned>(byte));
      }
    }
  } else {
    return "";
  }
  return std::string(text) + "/" + std::to_string(prefix);
}

// The addresses of the live system's interfaces, by interface name.
std::map<std::string, std::vector<std::string>> LiveAddresses() {
  std::map<std::string, std::vector<std::string>> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return out;
  }
  for (ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_name == nullptr || ifa->ifa_addr == nullptr) {
      continue;
    }
    std::string a = FormatAddress(ifa->ifa_addr, ifa->ifa_netmask);
    auto& v = out[ifa->ifa_name];
    if (!a.empty() && v.size() < kMaxAddresses) {
      v.push_back(std::move(a));
    }
  }
  freeifaddrs(list);
  return out;
}

class Deadline {
 public:
  explicit Deadline(std::chrono::milliseconds timeout)
      : end_(std::chrono::steady_clock::now() + timeout) {}
  bool passed() const { return std::chrono::steady_clock::now() >= end_; }

 private:
  std::chrono::steady_clock::time_point end_;
};

void CollectDisks(const SystemPaths& paths, const Deadline& deadline, Inventory& inv) {
  for (const std::string& dev : ListFolder(paths.Path("/sys/block"), kMaxDisks)) {
    if (inv.disks.size() >= kMaxDisks || deadline.passed()) {
      break;
    }
    if (checks::IsVirtualBlockDevice(dev) || dev.starts_with(".")) {
      continue;
    }
    std::string base = "/sys/block/" + dev;
    auto size = checks::ParseBlockSizeBytes(ReadSmall(paths, base + "/size"));
    if (!size || *size == 0) {  // an empty card reader or CD drive
      continue;
    }
    proto::InventoryDisk d;
    d.name = checks::CleanInventoryText(dev);
    d.size_bytes = *size;
    d.model = checks::CleanDmiValue(ReadSmall(paths, base + "/device/model"));
    std::string serial = ReadSmall(paths, base + "/device/serial");
    if (checks::CleanDmiValue(serial).empty()) {
      serial = ReadSmall(paths, base + "/serial");  // virtio
    }
    std::string wwid = ReadSmall(paths, base + "/wwid");  // nvme
    if (checks::CleanDmiValue(wwid).empty()) {
      wwid = ReadSmall(paths, base + "/device/wwid");  // scsi, ata
    }
    d.serial = checks::DiskSerial(serial, wwid);
    inv.disks.push_back(std::move(d));
  }
}

void CollectInterfaces(const SystemPaths& paths, const Deadline& deadline, Inventory& inv) {
  std::map<std::string, std::vector<std::string>> addresses;
  if (paths.root == "/") {
    addresses = LiveAddresses();
  }
  for (const std::string& name : ListFolder(paths.Path("/sys/class/net"), kMaxInterfaces)) {
    if (inv.interfaces.size() >= kMaxInterfaces || deadline.passed()) {
      break;
    }
    if (name == "lo" || name.starts_with(".")) {
      continue;
    }
    proto::InventoryInterface n;
    n.name = checks::CleanInventoryText(name);
    n.mac = checks::ParseMacAddress(ReadSmall(paths, "/sys/class/net/" + name + "/address"));
    if (auto it = addresses.find(name); it != addresses.end()) {
      n.addresses = it->second;
    }
    inv.interfaces.push_back(std::move(n));
  }
}

class InventoryCollector final : public Collector {
 public:
  std::string_view name() const override { return "inventory"; }

  std::vector<CheckResult> Collect(const CollectContext& ctx) override {
    Inventory inv = CollectInventory(ctx.paths, ctx.tools, ctx.timeout);
    if (inv.cpu_cores == 0 && inv.memory_bytes == 0 && inv.os_name.empty() && inv.kernel.empty()) {
      CheckResult r;
      r.check = std::string(name());
      r.status = CheckStatus::kUnknown;
      r.message = "cannot read the inventory: /proc and /etc/os-release are not readable";
      return {r};
    }
    return {checks::EvaluateInventory(inv, ctx.now)};
  }
};

}  // namespace

proto::Inventory CollectInventory(const SystemPaths& paths, const ToolRunner& /*tools*/,
                                  std::chrono::milliseconds timeout) {
  Deadline deadline(timeout);
  Inventory inv;

  inv.hostname = checks::CleanInventoryText(ReadSmall(paths, "/proc/sys/kernel/hostname"));
  if (inv.hostname.empty()) {
    inv.hostname = checks::CleanInventoryText(ReadSmall(paths, "/etc/hostname"));
  }
  inv.kernel = checks::CleanInventoryText(ReadSmall(paths, "/proc/sys/kernel/osrelease"));
  if (paths.root == "/") {
    utsname u{};
    if (uname(&u) == 0) {
      inv.architecture = checks::CleanInventoryText(u.machine);
      if (inv.kernel.empty()) {
        inv.kernel = checks::CleanInventoryText(u.release);
      }
    }
  }

  auto os_text = ReadFile(paths.Path("/etc/os-release"), kSmallFileBytes);
  if (!os_text) {
    os_text = ReadFile(paths.Path("/usr/lib/os-release"), kSmallFileBytes);
  }
  checks::OsRelease os = checks::ParseOsRelease(os_text.value_or(""));
  inv.os_name = os.name.empty() ? os.pretty_name : os.name;
  inv.os_version = os.version;

  inv.manufacturer = checks::CleanDmiValue(ReadSmall(paths, "/sys/class/dmi/id/sys_vendor"));
  inv.model = checks::CleanDmiValue(ReadSmall(paths, "/sys/class/dmi/id/product_name"));
  inv.serial = checks::CleanDmiValue(ReadSmall(paths, "/sys/class/dmi/id/product_serial"));

  checks::CpuInfo cpu =
      checks::ParseCpuInfo(ReadFile(paths.Path("/proc/cpuinfo"), kProcFileBytes).value_or(""));
  inv.cpu_model = cpu.model;
  inv.cpu_cores = cpu.processors;
  inv.memory_bytes = checks::ParseMemTotalBytes(ReadSmall(paths, "/proc/meminfo")).value_or(0);
  inv.last_boot =
      checks::ParseBootTime(ReadFile(paths.Path("/proc/stat"), kProcFileBytes).value_or(""));

  if (!deadline.passed()) {
    CollectDisks(paths, deadline, inv);
  }
  if (!deadline.passed()) {
    CollectInterfaces(paths, deadline, inv);
  }
  if (!deadline.passed()) {
    inv.package_count = checks::CountDpkgInstalled(
        ReadFile(paths.Path("/var/lib/dpkg/status"), kDpkgStatusBytes).value_or(""));
  }
  auto utmp = ReadFile(paths.Path("/run/utmp"), kUtmpBytes);
  if (!utmp) {
    utmp = ReadFile(paths.Path("/var/run/utmp"), kUtmpBytes);
  }
  inv.users = checks::ParseUtmpUsers(utmp.value_or(""));
  return inv;
}

std::unique_ptr<Collector> MakeInventoryCollector() {
  return std::make_unique<InventoryCollector>();
}

}  // namespace vigil::agent
