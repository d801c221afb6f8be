// CollectInventory and the `inventory` collector against a fixture root folder (recorded files
// from testdata/inventory plus hand-made sysfs entries), and a smoke test on the live system.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "agent/checks/inventory_info.h"
#include "agent/collect/collector.h"
#include "agent/collect/linux_collectors.h"
#include "proto/inventory.h"

namespace vigil::agent {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string Testdata(const std::string& name) {
  fs::path dir =
      fs::path(__FILE__).parent_path().parent_path() / "checks" / "testdata" / "inventory";
  std::ifstream in(dir / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Never runs anything: the inventory reads files only.
class NoTools final : public ToolRunner {
 public:
  Result<ToolOutput> Run(const ToolRequest& request) const override {
    ADD_FAILURE() << "unexpected tool " << request.argv[0];
    return NotFound("no tools in this test");
  }
};

class InventoryCollectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("vigil_inventory_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    paths_.root = root_.string();
  }
  void TearDown() override { fs::remove_all(root_); }

  void Put(const std::string& absolute, const std::string& content) {
    fs::path p = root_ / absolute.substr(1);
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary);
    out << content;
  }

  // A Debian 12 server with two disks (and loop/zram/empty devices that are left out), two
  // interfaces besides lo, DMI values and two logged-in users.
  void FillServer() {
    Put("/etc/os-release", Testdata("os-release_debian12"));
    Put("/proc/cpuinfo", Testdata("cpuinfo_epyc_2cpu"));
    Put("/proc/meminfo", Testdata("meminfo"));
    Put("/proc/stat", Testdata("proc_stat"));
    Put("/proc/sys/kernel/hostname", "web01\n");
    Put("/proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
    Put("/sys/class/dmi/id/sys_vendor", "Dell Inc.\n");
    Put("/sys/class/dmi/id/product_name", "PowerEdge R640\n");
    Put("/sys/class/dmi/id/product_serial", "To Be Filled By O.E.M.\n");
    Put("/sys/block/sda/size", "937703088\n");
    Put("/sys/block/sda/device/model", "PERC H730P Mini \n");
    Put("/sys/block/sda/device/wwid",
        "t10.ATA     PERC H730P Mini                         00a1b2c3\n");
    Put("/sys/block/nvme0n1/size", "1953525168\n");
    Put("/sys/block/nvme0n1/device/model", "Samsung SSD 980 PRO 1TB                 \n");
    Put("/sys/block/nvme0n1/device/serial", "S5GXNF0R123456      \n");
    Put("/sys/block/nvme0n1/wwid", "eui.002538b11150a1b2\n");
    Put("/sys/block/vda/size", "41943040\n");
    Put("/sys/block/vda/serial", "\n");
    Put("/sys/block/loop0/size", "1024\n");
    Put("/sys/block/zram0/size", "8388608\n");
    Put("/sys/block/dm-0/size", "8388608\n");
    Put("/sys/block/sr0/size", "0\n");
    Put("/sys/class/net/lo/address", "00:00:00:00:00:00\n");
    Put("/sys/class/net/eth0/address", "52:54:00:12:34:56\n");
    Put("/sys/class/net/wg0/address", "\n");
    Put("/var/lib/dpkg/status", Testdata("dpkg_status"));
    Put("/run/utmp", Testdata("utmp"));
  }

  fs::path root_;
  SystemPaths paths_;
  NoTools tools_;
};

TEST_F(InventoryCollectTest, CollectsFromFixtureRoot) {
  FillServer();
  proto::Inventory inv = CollectInventory(paths_, tools_, 10s);
  EXPECT_EQ(inv.hostname, "web01");
  EXPECT_EQ(inv.os_name, "Debian GNU/Linux");
  EXPECT_EQ(inv.os_version, "12 (bookworm)");
  EXPECT_EQ(inv.kernel, "6.1.0-18-amd64");
  EXPECT_EQ(inv.architecture, "");  // uname() only describes the live system
  EXPECT_EQ(inv.manufacturer, "Dell Inc.");
  EXPECT_EQ(inv.model, "PowerEdge R640");
  EXPECT_EQ(inv.serial, "");  // a placeholder
  EXPECT_EQ(inv.cpu_model, "AMD EPYC");
  EXPECT_EQ(inv.cpu_cores, 2);
  EXPECT_EQ(inv.memory_bytes, 24683620ull * 1024);
  ASSERT_EQ(inv.disks.size(), 3u);  // sorted by name: nvme0n1, sda, vda
  EXPECT_EQ(inv.disks[0], (proto::InventoryDisk{"nvme0n1", "Samsung SSD 980 PRO 1TB",
                                                "S5GXNF0R123456", 1953525168ull * 512}));
  EXPECT_EQ(inv.disks[1],
            (proto::InventoryDisk{"sda", "PERC H730P Mini", "00a1b2c3", 937703088ull * 512}));
  EXPECT_EQ(inv.disks[2], (proto::InventoryDisk{"vda", "", "", 41943040ull * 512}));
  ASSERT_EQ(inv.interfaces.size(), 2u);
  EXPECT_EQ(inv.interfaces[0], (proto::InventoryInterface{"eth0", "52:54:00:12:34:56", {}}));
  EXPECT_EQ(inv.interfaces[1], (proto::InventoryInterface{"wg0", "", {}}));
  EXPECT_EQ(inv.package_count, 31);
  ASSERT_TRUE(inv.last_boot.has_value());
  EXPECT_EQ(ToUnixMillis(*inv.last_boot), 1795377136000);
  EXPECT_EQ(inv.users,
            (std::vector<std::string>{"alice", "bob", "ev il name", std::string(32, 'x')}));

  // What the agent sends is accepted by the server's decoder, unchanged.
  auto decoded = proto::DecodeInventory(proto::EncodeInventory(inv));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, inv);
}

TEST_F(InventoryCollectTest, CollectorReportsSummary) {
  FillServer();
  auto collector = MakeInventoryCollector();
  EXPECT_EQ(collector->name(), "inventory");
  proto::AgentConfig config = proto::DefaultAgentConfig("server");
  TimePoint now = FromUnixMillis(1795377136000) + 2h;
  CollectContext ctx{
      .now = now, .timeout = 10s, .config = config, .tools = tools_, .paths = paths_};
  std::vector<proto::CheckResult> results = collector->Collect(ctx);
  ASSERT_EQ(results.size(), 1u);
  const proto::CheckResult& r = results[0];
  EXPECT_EQ(r.check, "inventory");
  EXPECT_EQ(r.status, proto::CheckStatus::kOk);
  EXPECT_EQ(r.message, "Debian GNU/Linux 12 (bookworm), 2 CPUs, 23.5 GiB RAM, 3 disks");
  bool uptime = false;
  for (const auto& m : r.metrics) {
    if (m.name == "uptime") {
      uptime = true;
      EXPECT_EQ(m.value, 7200);
    }
  }
  EXPECT_TRUE(uptime);
  EXPECT_EQ(r.details.at("hostname"), "web01");
  EXPECT_EQ(r.details.at("model"), "PowerEdge R640");
}

TEST_F(InventoryCollectTest, EmptyRootIsUnknownNotACrash) {
  proto::Inventory inv = CollectInventory(paths_, tools_, 10s);
  EXPECT_EQ(inv, proto::Inventory{});
  auto collector = MakeInventoryCollector();
  proto::AgentConfig config;
  CollectContext ctx{
      .now = FromUnixMillis(0), .timeout = 10s, .config = config, .tools = tools_, .paths = paths_};
  auto results = collector->Collect(ctx);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, proto::CheckStatus::kUnknown);
}

TEST_F(InventoryCollectTest, HostileFilesStayBounded) {
  Put("/etc/os-release", Testdata("os-release_hostile"));
  Put("/proc/cpuinfo", std::string(1 << 20, '\xff'));
  Put("/proc/meminfo", "MemTotal: 99999999999999999999 kB\n");
  Put("/proc/sys/kernel/hostname", std::string(10000, 'h') + "\n\x01");
  Put("/sys/class/dmi/id/sys_vendor", "\x1b[31mEvil\x00Corp");
  Put("/sys/block/sdz/size", "not a number\n");
  Put("/sys/block/sdy/size", "8\n");
  Put("/sys/block/sdy/device/model", std::string(5000, 'm'));
  Put("/sys/class/net/eth9/address", "zz:zz\n");
  Put("/run/utmp", std::string(384 * 3 + 7, '\x07'));
  proto::Inventory inv = CollectInventory(paths_, tools_, 10s);
  EXPECT_LE(inv.hostname.size(), checks::kMaxInventoryText);
  EXPECT_EQ(inv.memory_bytes, 0u);
  ASSERT_EQ(inv.disks.size(), 1u);
  EXPECT_EQ(inv.disks[0].name, "sdy");
  ASSERT_EQ(inv.interfaces.size(), 1u);
  EXPECT_EQ(inv.interfaces[0].mac, "");
  // Whatever was read, the server accepts it.
  auto decoded = proto::DecodeInventory(proto::EncodeInventory(inv));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, inv);
}

TEST_F(InventoryCollectTest, ManyDevicesAreCapped) {
  for (int i = 0; i < 300; ++i) {
    Put("/sys/block/sd" + std::to_string(1000 + i) + "/size", "8\n");
  }
  proto::Inventory inv = CollectInventory(paths_, tools_, 10s);
  EXPECT_EQ(inv.disks.size(), 256u);
  EXPECT_TRUE(proto::DecodeInventory(proto::EncodeInventory(inv)).has_value());
}

TEST(InventoryCollectLiveTest, ThisMachine) {
  SystemPaths paths;  // root "/"
  NoTools tools;
  proto::Inventory inv = CollectInventory(paths, tools, 10s);
  EXPECT_GT(inv.cpu_cores, 0);
  EXPECT_GT(inv.memory_bytes, 0u);
  EXPECT_FALSE(inv.kernel.empty());
  EXPECT_FALSE(inv.architecture.empty());
  EXPECT_TRUE(inv.last_boot.has_value());
  auto decoded = proto::DecodeInventory(proto::EncodeInventory(inv));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, inv);
}

}  // namespace
}  // namespace vigil::agent
