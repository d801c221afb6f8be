// Fuzzes what the inventory reads from untrusted places. The first input byte chooses the
// target, the rest is its input:
//   0x00..0x7F: DecodeInventory (the server's side), with the round trip: an inventory that
//               decodes must encode to text that decodes to an equal inventory, and encoding is
//               stable;
//   0x80..:     the agent's parsers of system files (os-release, cpuinfo, meminfo, DMI and sysfs
//               values, dpkg status, /proc/stat, utmp), whose text must come out as one bounded
//               line of valid UTF-8.
// Must never crash, hang or leak; errors are values.
//
// Links vigil_checks (which brings vigil_proto).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/checks/inventory_info.h"
#include "core/json.h"
#include "proto/inventory.h"

namespace {

void CheckLine(const std::string& s) {
  if (s.size() > vigil::checks::kMaxInventoryText || !vigil::json::IsValidUtf8(s)) {
    abort();
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) {
      abort();
    }
  }
}

void FuzzDecode(std::string_view text) {
  auto inv = vigil::proto::DecodeInventory(text);
  if (!inv) {
    (void)inv.error().ToString();
    return;
  }
  std::string encoded = vigil::proto::EncodeInventory(*inv);
  auto again = vigil::proto::DecodeInventory(encoded);
  if (!again || !(*again == *inv)) {
    abort();
  }
  if (vigil::proto::EncodeInventory(*again) != encoded) {
    abort();
  }
}

void FuzzParsers(uint8_t which, std::string_view text) {
  namespace checks = vigil::checks;
  switch (which % 8) {
    case 0: {
      checks::OsRelease os = checks::ParseOsRelease(text);
      CheckLine(os.name);
      CheckLine(os.version);
      CheckLine(os.pretty_name);
      CheckLine(os.id);
      break;
    }
    case 1: {
      checks::CpuInfo cpu = checks::ParseCpuInfo(text);
      CheckLine(cpu.model);
      if (cpu.processors < 0) {
        abort();
      }
      break;
    }
    case 2:
      (void)checks::ParseMemTotalBytes(text);
      (void)checks::ParseBlockSizeBytes(text);
      break;
    case 3: {
      CheckLine(checks::CleanDmiValue(text));
      size_t half = text.size() / 2;
      CheckLine(checks::DiskSerial(text.substr(0, half), text.substr(half)));
      break;
    }
    case 4: {
      std::string mac = checks::ParseMacAddress(text);
      CheckLine(mac);
      (void)checks::IsVirtualBlockDevice(text);
      break;
    }
    case 5:
      if (checks::CountDpkgInstalled(text) < 0) {
        abort();
      }
      break;
    case 6:
      (void)checks::ParseBootTime(text);
      break;
    default:
      for (const std::string& u : checks::ParseUtmpUsers(text)) {
        CheckLine(u);
        if (u.empty()) {
          abort();
        }
      }
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] < 0x80) {
    FuzzDecode(text);
  } else {
    FuzzParsers(data[0], text);
  }
  return 0;
}
