#include "agent/checks/inventory_info.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"

namespace vigil::checks {
namespace {

using namespace std::chrono_literals;

// Files recorded on a Debian 12 VM (2 vCPU AMD EPYC, 23.5 GiB) plus hand-made variants; see
// testdata/inventory/.
std::string ReadTestdata(const std::string& name) {
  std::filesystem::path dir =
      std::filesystem::path(__FILE__).parent_path() / "testdata" / "inventory";
  std::ifstream in(dir / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool IsCleanLine(const std::string& s) {
  if (!json::IsValidUtf8(s) || s.size() > kMaxInventoryText) {
    return false;
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) {
      return false;
    }
  }
  return true;
}

TEST(InventoryInfoTest, OsReleaseDebian) {
  OsRelease os = ParseOsRelease(ReadTestdata("os-release_debian12"));
  EXPECT_EQ(os.name, "Debian GNU/Linux");
  EXPECT_EQ(os.version, "12 (bookworm)");
  EXPECT_EQ(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(os.id, "debian");
}

TEST(InventoryInfoTest, OsReleaseQuotingAndFallbacks) {
  OsRelease os = ParseOsRelease(
      "NAME='Arch Linux'\nID=arch\nBUILD_ID=rolling\nVERSION_ID=20261101\n  PRETTY_NAME = x\n");
  EXPECT_EQ(os.name, "Arch Linux");
  EXPECT_EQ(os.version, "20261101");  // no VERSION: VERSION_ID
  EXPECT_EQ(os.id, "arch");
  EXPECT_EQ(os.pretty_name, "");  // "PRETTY_NAME " is not a key
  OsRelease esc =
      ParseOsRelease("NAME=\"A \\\"quoted\\\" \\\\ name\" # trailing\r\nVERSION=\"1\r\n");
  EXPECT_EQ(esc.name, "A \"quoted\" \\ name");
  EXPECT_EQ(esc.version, "1");
  EXPECT_EQ(ParseOsRelease(""), OsRelease{});
}

TEST(InventoryInfoTest, OsReleaseHostile) {
  OsRelease os = ParseOsRelease(ReadTestdata("os-release_hostile"));
  EXPECT_TRUE(IsCleanLine(os.name)) << os.name;
  EXPECT_EQ(os.name.substr(0, 8), "Evil\"OS ");
  EXPECT_TRUE(IsCleanLine(os.version));
  EXPECT_TRUE(IsCleanLine(os.pretty_name));
  EXPECT_EQ(os.pretty_name.size(), kMaxInventoryText);
  EXPECT_EQ(os.id, "evil os");
}

TEST(InventoryInfoTest, CpuInfo) {
  CpuInfo epyc = ParseCpuInfo(ReadTestdata("cpuinfo_epyc_2cpu"));
  EXPECT_EQ(epyc.model, "AMD EPYC");
  EXPECT_EQ(epyc.processors, 2);
  CpuInfo pi = ParseCpuInfo(ReadTestdata("cpuinfo_armv7"));
  EXPECT_EQ(pi.model, "ARMv7 Processor rev 4 (v7l)");
  EXPECT_EQ(pi.processors, 4);
  CpuInfo arm64 = ParseCpuInfo(ReadTestdata("cpuinfo_arm64_nomodel"));
  EXPECT_EQ(arm64.model, "");
  EXPECT_EQ(arm64.processors, 2);
  CpuInfo old_arm = ParseCpuInfo("Processor\t: ARMv6-compatible processor rev 7 (v6l)\n");
  EXPECT_EQ(old_arm.model, "ARMv6-compatible processor rev 7 (v6l)");
  EXPECT_EQ(old_arm.processors, 0);
  CpuInfo power = ParseCpuInfo("processor\t: 0\ncpu\t\t: POWER9 (raw), altivec supported\n");
  EXPECT_EQ(power.model, "POWER9 (raw), altivec supported");
  EXPECT_EQ(ParseCpuInfo(""), CpuInfo{});
  EXPECT_EQ(ParseCpuInfo("model name:\nprocessor\n:::\n").processors, 0);
}

TEST(InventoryInfoTest, MemTotal) {
  EXPECT_EQ(ParseMemTotalBytes(ReadTestdata("meminfo")), 24683620ull * 1024);
  EXPECT_EQ(ParseMemTotalBytes("MemFree: 1 kB\nMemTotal:   16 kB\n"), 16384u);
  EXPECT_EQ(ParseMemTotalBytes("MemTotal: 100\n"), 100u);
  EXPECT_EQ(ParseMemTotalBytes(""), std::nullopt);
  EXPECT_EQ(ParseMemTotalBytes("MemTotal: kB\n"), std::nullopt);
  EXPECT_EQ(ParseMemTotalBytes("MemTotal: -5 kB\n"), std::nullopt);
  EXPECT_EQ(ParseMemTotalBytes("MemTotal: 12 MB\n"), std::nullopt);
  EXPECT_EQ(ParseMemTotalBytes("MemTotal: 18446744073709551615 kB\n"), std::nullopt);
  EXPECT_EQ(ParseMemTotalBytes("MemTotal: 99999999999999999999999 kB\n"), std::nullopt);
}

TEST(InventoryInfoTest, DmiValues) {
  EXPECT_EQ(CleanDmiValue("Dell Inc.\n"), "Dell Inc.");
  EXPECT_EQ(CleanDmiValue("  PowerEdge R640  \n"), "PowerEdge R640");
  for (const char* p :
       {"To Be Filled By O.E.M.", "Default string\n", "System Serial Number", "Not Specified",
        "0123456789", "None", "", "   \n", "00000000", "FFFFFFFFFFFF", "To be filled by O.E.M.",
        "System Product Name", "..........."}) {
    EXPECT_EQ(CleanDmiValue(p), "") << p;
  }
  EXPECT_EQ(CleanDmiValue("0"), "");
  EXPECT_EQ(CleanDmiValue("8XK2Q53"), "8XK2Q53");
  EXPECT_EQ(CleanDmiValue("1000"), "1000");
  std::string hostile = "QEMU\x1b[2J\xff Standard PC\n(i440FX)";
  std::string clean = CleanDmiValue(hostile);
  EXPECT_TRUE(IsCleanLine(clean)) << clean;
  EXPECT_EQ(clean.substr(0, 4), "QEMU");
  EXPECT_LE(CleanDmiValue(std::string(100000, 'a')).size(), kMaxInventoryText);
}

TEST(InventoryInfoTest, BlockDevices) {
  for (const char* v : {"loop0", "loop12", "ram0", "zram0", "dm-0", ""}) {
    EXPECT_TRUE(IsVirtualBlockDevice(v)) << v;
  }
  for (const char* d : {"sda", "vda", "nvme0n1", "mmcblk0", "md0", "xvda"}) {
    EXPECT_FALSE(IsVirtualBlockDevice(d)) << d;
  }
  EXPECT_EQ(ParseBlockSizeBytes("41943040\n"), 41943040ull * 512);
  EXPECT_EQ(ParseBlockSizeBytes("0\n"), 0u);
  EXPECT_EQ(ParseBlockSizeBytes(""), std::nullopt);
  EXPECT_EQ(ParseBlockSizeBytes("12a\n"), std::nullopt);
  EXPECT_EQ(ParseBlockSizeBytes("-1"), std::nullopt);
  EXPECT_EQ(ParseBlockSizeBytes("36028797018963968"), std::nullopt);  // 2^55 sectors: overflow
  EXPECT_EQ(ParseBlockSizeBytes("36028797018963967"), 36028797018963967ull * 512);
}

TEST(InventoryInfoTest, DiskSerials) {
  EXPECT_EQ(DiskSerial("S5GXNF0R123456\n", ""), "S5GXNF0R123456");
  EXPECT_EQ(DiskSerial("", "t10.ATA     QEMU HARDDISK                           QM00001\n"),
            "QM00001");
  EXPECT_EQ(DiskSerial("   \n", "eui.0025388b01234567\n"), "eui.0025388b01234567");
  EXPECT_EQ(DiskSerial("", ""), "");
  EXPECT_EQ(DiskSerial("", "t10.nospace"), "");
  EXPECT_EQ(DiskSerial("0000000000", "naa.5000c500a1b2c3d4"), "naa.5000c500a1b2c3d4");
}

TEST(InventoryInfoTest, MacAddresses) {
  EXPECT_EQ(ParseMacAddress("02:FC:00:00:00:01\n"), "02:fc:00:00:00:01");
  EXPECT_EQ(ParseMacAddress("00:00:00:00:00:00\n"), "");
  EXPECT_EQ(ParseMacAddress(""), "");
  EXPECT_EQ(ParseMacAddress("02:fc:00:00:00"), "02:fc:00:00:00");  // other lengths exist
  EXPECT_EQ(ParseMacAddress("02:fc:00:00:00:0"), "");
  EXPECT_EQ(ParseMacAddress("02-fc-00-00-00-01"), "");
  EXPECT_EQ(ParseMacAddress("zz:fc:00:00:00:01"), "");
  std::string ib = "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:b1:c2";
  EXPECT_EQ(ParseMacAddress(ib), ib);
  std::string too_long;
  for (int i = 0; i < 33; ++i) {
    too_long += (i ? ":" : "") + std::string("ab");
  }
  EXPECT_EQ(ParseMacAddress(too_long), "");
}

TEST(InventoryInfoTest, DpkgStatus) {
  // 30 installed packages recorded from Debian 12, then one removed (config-files), one
  // half-installed, one held (installed), one whose Status is only inside a description.
  EXPECT_EQ(CountDpkgInstalled(ReadTestdata("dpkg_status")), 31);
  EXPECT_EQ(CountDpkgInstalled(""), 0);
  EXPECT_EQ(CountDpkgInstalled("Package: a\r\nStatus: install ok installed\r\n\r\n"), 1);
  // Two Status lines in one paragraph count once.
  EXPECT_EQ(CountDpkgInstalled("Package: a\nStatus: install ok installed\n"
                               "Status: install ok installed\n\nPackage: b\n"
                               "Status: install ok installed\n"),
            2);
  EXPECT_EQ(CountDpkgInstalled("Status: install ok installedx\nStatus:install ok installed"), 1);
}

TEST(InventoryInfoTest, BootTime) {
  auto t = ParseBootTime(ReadTestdata("proc_stat"));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(ToUnixMillis(*t), 1795377136000);
  EXPECT_EQ(ParseBootTime("cpu 1 2 3\n"), std::nullopt);
  EXPECT_EQ(ParseBootTime("btime \n"), std::nullopt);
  EXPECT_EQ(ParseBootTime("btime -5\n"), std::nullopt);
  EXPECT_EQ(ParseBootTime("btime 253402300800\n"), std::nullopt);  // year 10000
  EXPECT_EQ(ParseBootTime("btime 99999999999999999999999\n"), std::nullopt);
  EXPECT_EQ(ParseBootTime("btimex 5\nbtime 10"), FromUnixMillis(10000));
}

TEST(InventoryInfoTest, UtmpUsers) {
  // Records: reboot, runlevel, LOGIN (tty1), alice (tty1), bob, alice again, carol (DEAD_PROCESS),
  // a 32-character name without NUL, a name with control characters, an empty name, then a
  // partial record.
  std::vector<std::string> users = ParseUtmpUsers(ReadTestdata("utmp"));
  std::vector<std::string> want = {"alice", "bob", "ev il name", std::string(32, 'x')};
  EXPECT_EQ(users, want);
  EXPECT_TRUE(ParseUtmpUsers("").empty());
  EXPECT_TRUE(ParseUtmpUsers(std::string(383, '\x07')).empty());
}

TEST(InventoryInfoTest, SummaryAndResult) {
  proto::Inventory inv;
  inv.hostname = "web01";
  inv.os_name = "Debian GNU/Linux";
  inv.os_version = "12 (bookworm)";
  inv.kernel = "6.1.0-18-amd64";
  inv.cpu_cores = 4;
  inv.memory_bytes = 16'750'000'000ULL;  // 15.6 GiB
  inv.disks = {{"sda", "", "", 1}, {"sdb", "", "", 2}};
  inv.package_count = 835;
  TimePoint now = FromUnixMillis(1795377136000);
  inv.last_boot = now - 3h;
  EXPECT_EQ(InventorySummary(inv), "Debian GNU/Linux 12 (bookworm), 4 CPUs, 15.6 GiB RAM, 2 disks");

  proto::CheckResult r = EvaluateInventory(inv, now);
  EXPECT_EQ(r.check, "inventory");
  EXPECT_EQ(r.status, proto::CheckStatus::kOk);
  EXPECT_EQ(r.message, InventorySummary(inv));
  auto metric = [&](const std::string& name) -> std::optional<double> {
    for (const auto& m : r.metrics) {
      if (m.name == name) {
        return m.value;
      }
    }
    return std::nullopt;
  };
  EXPECT_EQ(metric("cpu_cores"), 4);
  EXPECT_EQ(metric("memory_bytes"), 16'750'000'000.0);
  EXPECT_EQ(metric("package_count"), 835);
  EXPECT_EQ(metric("disk_count"), 2);
  EXPECT_EQ(metric("uptime"), 3 * 3600);
  EXPECT_EQ(r.details.at("hostname"), "web01");
  EXPECT_EQ(r.details.at("os"), "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(r.details.at("kernel"), "6.1.0-18-amd64");
  EXPECT_EQ(r.details.count("serial"), 0u);  // empty values are left out

  proto::Inventory bare;
  bare.cpu_cores = 1;
  bare.disks = {{"vda", "", "", 1}};
  bare.last_boot = now + 1h;  // clock skew: no uptime
  EXPECT_EQ(InventorySummary(bare), "1 CPU, 1 disk");
  EXPECT_FALSE(EvaluateInventory(bare, now).metrics.empty());
  for (const auto& m : EvaluateInventory(bare, now).metrics) {
    EXPECT_NE(m.name, "uptime");
  }
  EXPECT_EQ(InventorySummary(proto::Inventory{}), "0 disks");
}

// Random bytes never crash a parser nor yield text that is not one clean line.
TEST(InventoryInfoTest, RandomInputIsHarmless) {
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::string s(rng() % 2000, '\0');
    for (char& c : s) {
      c = static_cast<char>(rng() % 4 == 0 ? "\n:= \"'\\"[rng() % 7] : rng());
    }
    OsRelease os = ParseOsRelease(s);
    EXPECT_TRUE(IsCleanLine(os.name) && IsCleanLine(os.version) && IsCleanLine(os.pretty_name));
    EXPECT_TRUE(IsCleanLine(ParseCpuInfo(s).model));
    EXPECT_TRUE(IsCleanLine(CleanDmiValue(s)));
    EXPECT_TRUE(IsCleanLine(DiskSerial(s, s)));
    (void)ParseMemTotalBytes(s);
    (void)ParseBlockSizeBytes(s);
    (void)ParseBootTime(s);
    (void)CountDpkgInstalled(s);
    for (const std::string& u : ParseUtmpUsers(s)) {
      EXPECT_TRUE(IsCleanLine(u));
    }
  }
}

}  // namespace
}  // namespace vigil::checks
