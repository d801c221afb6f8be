#include "proto/inventory.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/json.h"

namespace vigil::proto {
namespace {

using json::Json;

std::vector<std::string> ErrorFields(const Result<Inventory>& r) {
  std::vector<std::string> out;
  if (!r.has_value()) {
    for (const auto& e : r.error().field_errors()) {
      out.push_back(e.field);
    }
  }
  return out;
}

bool HasField(const Result<Inventory>& r, const std::string& field) {
  auto f = ErrorFields(r);
  return std::find(f.begin(), f.end(), field) != f.end();
}

Inventory FullInventory() {
  Inventory inv;
  inv.hostname = "web01";
  inv.os_name = "Debian GNU/Linux";
  inv.os_version = "12 (bookworm)";
  inv.kernel = "6.1.0-18-amd64";
  inv.architecture = "x86_64";
  inv.manufacturer = "Dell Inc.";
  inv.model = "PowerEdge R640";
  inv.serial = "8XK2Q53";
  inv.cpu_model = "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz";
  inv.cpu_cores = 64;
  inv.memory_bytes = 270'000'000'000ULL;
  inv.disks = {{"sda", "PERC H730P Mini", "00a1b2c3", 479'559'942'144ULL},
               {"nvme0n1", "Samsung SSD 980 PRO 1TB", "S5GXNF0R123456", 1'000'204'886'016ULL}};
  inv.interfaces = {{"eno1", "52:54:00:12:34:56", {"192.0.2.10/24", "2001:db8::10/64"}},
                    {"wg0", "", {}},
                    {"ib0", "80:00:02:08:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0a:b1:c2", {}}};
  inv.package_count = 1834;
  inv.last_boot = FromUnixMillis(1795348800000);  // 2026-11-22T12:00:00Z
  inv.users = {"alice", "bob"};
  return inv;
}

TEST(InventoryTest, RoundTrip) {
  for (const Inventory& inv : {Inventory{}, FullInventory()}) {
    std::string text = EncodeInventory(inv);
    auto r = DecodeInventory(text);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(*r, inv);
    EXPECT_EQ(EncodeInventory(*r), text);
  }
}

TEST(InventoryTest, EncodesEveryKeyInFixedOrder) {
  Json j = Json::parse(EncodeInventory(FullInventory()));
  for (const char* key :
       {"hostname", "os_name", "os_version", "kernel", "architecture", "manufacturer", "model",
        "serial", "cpu_model", "cpu_cores", "memory_bytes", "disks", "interfaces", "package_count",
        "last_boot", "users"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["last_boot"], "2026-11-22T12:00:00.000Z");
  EXPECT_EQ(j["disks"][1]["size_bytes"], 1'000'204'886'016ULL);
  EXPECT_TRUE(Json::parse(EncodeInventory(Inventory{}))["last_boot"].is_null());
  EXPECT_EQ(EncodeInventory(FullInventory()), EncodeInventory(FullInventory()));
}

TEST(InventoryTest, EncoderCleansTextItCannotSend) {
  Inventory inv;
  inv.hostname = "bad\nhost\x01";
  inv.model = std::string(400, 'x');
  inv.serial = "\xff\xfe";
  auto r = DecodeInventory(EncodeInventory(inv));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->hostname.find('\n'), std::string::npos);
  EXPECT_LE(r->model.size(), 256u);
  EXPECT_FALSE(r->serial.empty());
}

TEST(InventoryTest, AbsentKeysKeepDefaults) {
  auto r = DecodeInventory(R"({"hostname":"h","cpu_cores":2})");
  ASSERT_TRUE(r.has_value());
  Inventory want;
  want.hostname = "h";
  want.cpu_cores = 2;
  EXPECT_EQ(*r, want);
  EXPECT_FALSE(r->last_boot.has_value());
  auto n = DecodeInventory(R"({"last_boot":null})");
  ASSERT_TRUE(n.has_value());
  EXPECT_FALSE(n->last_boot.has_value());
}

TEST(InventoryTest, ErrorsNameTheirPaths) {
  auto r = DecodeInventory(R"({
    "hostname": 5, "cpu_cores": -1, "memory_bytes": -5, "package_count": 1.5,
    "last_boot": "yesterday", "extra": true,
    "disks": [{"name":"sda","size_bytes":"1"}, {"model":"x"}, {"name":"sdb","bogus":1}, 7],
    "interfaces": [{"name":"eth0","mac":"zz:zz"}, {"name":"eth1","addresses":["10.0.0.1"]},
                   {"name":"eth2","addresses":["10.0.0.1/33","::1/129","::1/64","fe80::1%eth2/64"]}],
    "users": ["", "x\ny"]})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  for (const char* f : {"hostname", "cpu_cores", "memory_bytes", "package_count", "last_boot",
                        "extra", "disks[0].size_bytes", "disks[1].name", "disks[2].bogus",
                        "disks[3]", "interfaces[0].mac", "interfaces[1].addresses[0]",
                        "interfaces[2].addresses[0]", "interfaces[2].addresses[1]", "users[0]"}) {
    EXPECT_TRUE(HasField(r, f)) << f;
  }
  EXPECT_FALSE(HasField(r, "interfaces[2].addresses[2]"));
  EXPECT_FALSE(HasField(r, "interfaces[2].addresses[3]"));
}

TEST(InventoryTest, TextLimits) {
  EXPECT_TRUE(DecodeInventory(R"({"model":")" + std::string(256, 'm') + R"("})"));
  EXPECT_TRUE(
      HasField(DecodeInventory(R"({"model":")" + std::string(257, 'm') + R"("})"), "model"));
  EXPECT_TRUE(HasField(DecodeInventory(R"({"model":"a\tb"})"), "model"));
  EXPECT_TRUE(HasField(DecodeInventory(R"({"model":"a\u0000b"})"), "model"));
  EXPECT_FALSE(DecodeInventory("{\"model\":\"\xc0\xaf\"}").has_value());  // overlong UTF-8
  auto u = DecodeInventory(R"({"manufacturer":"Hewlett-Packard Ünïcode ✓"})");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->manufacturer, "Hewlett-Packard Ünïcode ✓");
}

TEST(InventoryTest, ListLimits) {
  auto list = [](size_t n, const std::string& item) {
    std::string s = "[";
    for (size_t i = 0; i < n; ++i) {
      s += (i ? "," : "") + item;
    }
    return s + "]";
  };
  EXPECT_TRUE(DecodeInventory(R"({"disks":)" + list(256, R"({"name":"d"})") + "}"));
  EXPECT_TRUE(
      HasField(DecodeInventory(R"({"disks":)" + list(257, R"({"name":"d"})") + "}"), "disks"));
  EXPECT_TRUE(HasField(DecodeInventory(R"({"interfaces":)" + list(257, R"({"name":"e"})") + "}"),
                       "interfaces"));
  EXPECT_TRUE(HasField(DecodeInventory(R"({"interfaces":[{"name":"e","addresses":)" +
                                       list(65, R"("10.0.0.1/8")") + "}]}"),
                       "interfaces[0].addresses"));
  EXPECT_TRUE(DecodeInventory(R"({"users":)" + list(1024, R"("u")") + "}"));
  EXPECT_TRUE(HasField(DecodeInventory(R"({"users":)" + list(1025, R"("u")") + "}"), "users"));
}

TEST(InventoryTest, NumberRanges) {
  auto max = DecodeInventory(R"({"memory_bytes":18446744073709551615})");
  ASSERT_TRUE(max.has_value());
  EXPECT_EQ(max->memory_bytes, UINT64_MAX);
  EXPECT_FALSE(DecodeInventory(R"({"memory_bytes":18446744073709551616})").has_value());
  EXPECT_TRUE(HasField(DecodeInventory(R"({"cpu_cores":2147483648})"), "cpu_cores"));
  EXPECT_TRUE(HasField(DecodeInventory(R"({"package_count":-1})"), "package_count"));
  EXPECT_TRUE(HasField(DecodeInventory(R"({"memory_bytes":1e3})"), "memory_bytes"));
  EXPECT_TRUE(HasField(DecodeInventory(R"({"last_boot":""})"), "last_boot"));
  EXPECT_TRUE(HasField(DecodeInventory(R"({"last_boot":"0100-01-01T00:00:00Z"})"), "last_boot"));
}

TEST(InventoryTest, MalformedAndOversized) {
  for (const char* text : {"", "[]", "null", "{", "{\"hostname\":\"a\"", "\"x\"", "{}}",
                           R"({"disks":{}})", R"({"users":"alice"})", R"({"interfaces":[[]]})"}) {
    auto r = DecodeInventory(text);
    EXPECT_FALSE(r.has_value()) << text;
    if (!r.has_value()) {
      EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << text;
    }
  }
  std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_FALSE(DecodeInventory(R"({"users":)" + deep + "}").has_value());
  auto big = DecodeInventory(R"({"hostname":")" + std::string(1100 * 1024, 'a') + R"("})");
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code(), ErrorCode::kPayloadTooLarge);
}

TEST(InventoryTest, ManyErrorsAreBounded) {
  std::string text = R"({"disks":[)";
  for (int i = 0; i < 256; ++i) {
    text += (i ? "," : "") + std::string(R"({"a":1,"b":2,"c":3})");
  }
  text += "]}";
  auto r = DecodeInventory(text);
  ASSERT_FALSE(r.has_value());
  EXPECT_LE(r.error().field_errors().size(), 110u);
}

}  // namespace
}  // namespace vigil::proto
