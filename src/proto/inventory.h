#pragma once

// A device's inventory: what the machine is, sent by the agent at enrollment and whenever it
// changes (PUT /api/v1/agent/inventory), stored by vigild with its change history.
//
// Wire format: the JSON object EncodeInventory writes, one key per field below (snake_case, lists
// of objects for disks and interfaces, last_boot as RFC 3339). Decoding is strict (unknown keys
// refused, types checked, every error names its path "disks[2].serial"); absent keys keep their
// defaults so an agent on a platform without, say, DMI simply leaves those out.
//
// Thread safety: pure functions on values.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace vigil::proto {

struct InventoryDisk {
  std::string name;  // "sda", "nvme0n1"
  std::string model;
  std::string serial;
  uint64_t size_bytes = 0;
  bool operator==(const InventoryDisk&) const = default;
};

struct InventoryInterface {
  std::string name;                    // "eth0"
  std::string mac;                     // "52:54:00:12:34:56" or ""
  std::vector<std::string> addresses;  // "192.0.2.10/24", "2001:db8::1/64"
  bool operator==(const InventoryInterface&) const = default;
};

struct Inventory {
  std::string hostname;
  std::string os_name;       // "Debian GNU/Linux"
  std::string os_version;    // "12 (bookworm)"
  std::string kernel;        // "6.1.0-18-amd64"
  std::string architecture;  // "x86_64"
  std::string manufacturer;  // DMI sys_vendor
  std::string model;         // DMI product_name
  std::string serial;        // DMI product_serial ("" when unreadable)
  std::string cpu_model;
  int cpu_cores = 0;
  uint64_t memory_bytes = 0;
  std::vector<InventoryDisk> disks;
  std::vector<InventoryInterface> interfaces;
  int64_t package_count = 0;
  std::optional<TimePoint> last_boot;
  std::vector<std::string> users;  // logged in now
  bool operator==(const Inventory&) const = default;
};

// Compact JSON; keys in a fixed order, so equal inventories encode to equal text. Text that
// DecodeInventory would refuse is made acceptable (invalid UTF-8 and control characters replaced,
// cut to 256 characters) and lists are cut to the limits below; a last_boot outside years
// 1900..9999 is written as null. Names of disks and interfaces and user names must not be empty
// and MACs and addresses well-formed (the caller leaves other entries out); with that,
// DecodeInventory accepts every encoding.
std::string EncodeInventory(const Inventory& inventory);

// Errors: kPayloadTooLarge past 1 MiB; kInvalidArgument naming every wrong field. Limits: text
// fields 1..256 characters of valid UTF-8 on one line (or empty), at most 256 disks, 256
// interfaces, 64 addresses per interface, 1024 users.
Result<Inventory> DecodeInventory(std::string_view text);

}  // namespace vigil::proto
