#include "proto/agent_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/json.h"

namespace vigil::proto {
namespace {

using json::Json;
using std::chrono::seconds;

std::vector<std::string> ErrorFields(const Result<AgentConfig>& r) {
  std::vector<std::string> out;
  if (!r.has_value()) {
    for (const auto& e : r.error().field_errors()) {
      out.push_back(e.field);
    }
  }
  return out;
}

bool HasField(const Result<AgentConfig>& r, const std::string& field) {
  auto f = ErrorFields(r);
  return std::find(f.begin(), f.end(), field) != f.end();
}

Result<AgentConfig> Decode(const std::string& text) {
  return DecodeAgentConfig(text, DefaultAgentConfig("server"));
}

// A configuration with every list filled and every value away from its default.
AgentConfig FullConfig() {
  AgentConfig c = DefaultAgentConfig("server");
  c.revision = 42;
  c.inventory_schedule = {false, seconds(7200), seconds(90)};
  c.cpu_schedule = {true, seconds(30), seconds(5)};
  c.cpu = {80.5, 99.25};
  c.memory = {70, 71};
  c.swap = {0, 100};
  c.disk_space = {80, 90};
  c.disk_inodes = {75, 76};
  c.disk_ignore_mounts = {"/snap", "/media/usb stick"};
  c.smart_devices = {"/dev/sda", "/dev/nvme0"};
  c.updates_warn_pending = 10;
  c.updates_crit_security = 3;
  c.updates_warn_days_since = 30;
  c.antivirus_database_dir = "/opt/clamav/db";
  c.antivirus_warn_hours = 24;
  c.antivirus_crit_hours = 24;
  c.antivirus_required = false;
  c.backup_sources = {{"restic", "/srv/restic", "/etc/vigil/restic.pw", 12, 36},
                      {"borg", "ssh://backup@nas/./repo", "", 26, 48},
                      {"marker", "/var/backups/last-ok", "", 1, 2}};
  c.firewall_required = false;
  c.services_units = {"nginx.service", "postgresql@15-main.service"};
  c.services_max_failed = 2;
  c.certificate_endpoints = {"example.com:443", "[2001:db8::1]:8443"};
  c.certificate_files = {"/etc/ssl/certs/site.pem"};
  c.certificates_warn_days = 30;
  c.certificates_crit_days = 10;
  c.reachability_targets = {{"router", "ping", "192.0.2.1", 0},
                            {"nas", "tcp", "nas.lan", 445},
                            {"intranet", "http", "https://intranet.example/health", 0}};
  c.plugins = {{"load", {"/usr/lib/nagios/plugins/check_load", "-w", "5,4,3", "-c", "10,8,6"}},
               {"ntp", {"/usr/lib/vigil/plugins/check_ntp", ""}}};
  return c;
}

TEST(AgentConfigTest, CheckNamesAndKinds) {
  EXPECT_TRUE(IsCheckName("inventory"));
  EXPECT_TRUE(IsCheckName("plugin"));
  EXPECT_FALSE(IsCheckName("heartbeat"));
  EXPECT_FALSE(IsCheckName(""));
  EXPECT_FALSE(IsCheckName("CPU"));
  EXPECT_TRUE(IsDeviceKind("server"));
  EXPECT_TRUE(IsDeviceKind("workstation"));
  EXPECT_FALSE(IsDeviceKind("router"));
}

TEST(AgentConfigTest, ScheduleReturnsEachCheck) {
  AgentConfig c = DefaultAgentConfig("server");
  EXPECT_EQ(&c.Schedule("inventory"), &c.inventory_schedule);
  EXPECT_EQ(&c.Schedule("disk"), &c.disk_schedule);
  EXPECT_EQ(&c.Schedule("plugin"), &c.plugin_schedule);
  for (std::string_view name : kCheckNames) {
    const CheckSchedule& s = c.Schedule(name);
    EXPECT_LT(s.timeout, s.interval) << name;
  }
  EXPECT_EQ(c.Schedule("backup").interval, seconds(900));
}

TEST(AgentConfigTest, ScheduleOfUnknownCheckIsABug) {
  AgentConfig c;
  EXPECT_DEATH((void)c.Schedule("heartbeat"), "");
}

TEST(AgentConfigTest, DefaultsDifferByKind) {
  AgentConfig server = DefaultAgentConfig("server");
  AgentConfig workstation = DefaultAgentConfig("workstation");
  EXPECT_EQ(server, AgentConfig{});
  EXPECT_EQ(server.revision, 0);
  EXPECT_TRUE(server.firewall_required);
  EXPECT_FALSE(workstation.firewall_required);
  EXPECT_GT(workstation.updates_warn_days_since, server.updates_warn_days_since);
  EXPECT_GT(workstation.updates_schedule.interval, server.updates_schedule.interval);
  EXPECT_NE(server, workstation);
  EXPECT_EQ(DefaultAgentConfig("something-else"), server);
  // The defaults are valid configurations themselves.
  for (std::string_view kind : kDeviceKinds) {
    AgentConfig d = DefaultAgentConfig(kind);
    auto r = DecodeAgentConfig(EncodeAgentConfig(d), AgentConfig{});
    ASSERT_TRUE(r.has_value()) << kind << ": " << r.error().ToString();
    EXPECT_EQ(*r, d);
  }
}

TEST(AgentConfigTest, RoundTripFullConfig) {
  AgentConfig c = FullConfig();
  std::string text = EncodeAgentConfig(c);
  auto r = DecodeAgentConfig(text, AgentConfig{});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(*r, c);
  EXPECT_EQ(EncodeAgentConfig(*r), text);
}

TEST(AgentConfigTest, EncodeWritesEveryKey) {
  Json j = Json::parse(EncodeAgentConfig(AgentConfig{}));
  EXPECT_EQ(j["revision"], 0);
  ASSERT_EQ(j["checks"].size(), std::size(kCheckNames));
  for (std::string_view name : kCheckNames) {
    const Json& check = j["checks"][std::string(name)];
    EXPECT_TRUE(check.contains("enabled")) << name;
    EXPECT_TRUE(check.contains("interval_seconds")) << name;
    EXPECT_TRUE(check.contains("timeout_seconds")) << name;
  }
  EXPECT_EQ(j["checks"]["disk"]["crit_inodes_percent"], 95.0);
  EXPECT_TRUE(j["checks"]["disk"]["ignore_mounts"].is_array());
  EXPECT_EQ(j["checks"]["updates"]["warn_days_since_update"], 14);
  EXPECT_EQ(j["checks"]["services"]["max_failed_units"], 0);
  EXPECT_EQ(j["checks"]["antivirus"]["database_dir"], "/var/lib/clamav");
}

TEST(AgentConfigTest, AbsentKeysKeepDefaults) {
  AgentConfig defaults = DefaultAgentConfig("workstation");
  auto r = DecodeAgentConfig(R"({"revision":3,"checks":{"disk":{"warn_percent":70}}})", defaults);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  AgentConfig want = defaults;
  want.revision = 3;
  want.disk_space.warn = 70;
  EXPECT_EQ(*r, want);

  auto empty = DecodeAgentConfig("{}", defaults);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, defaults);
}

TEST(AgentConfigTest, DecodesTheDocumentedShape) {
  auto r = Decode(R"({"revision":7,"checks":{
    "cpu":{"enabled":true,"interval_seconds":60,"timeout_seconds":30,"warn_percent":90,"crit_percent":98},
    "disk":{"warn_percent":80,"crit_percent":90,"warn_inodes_percent":85,"crit_inodes_percent":95,
            "ignore_mounts":["/boot/efi"]},
    "smart":{"devices":["/dev/sda"]},
    "updates":{"warn_pending":2,"crit_security":1,"warn_days_since_update":7},
    "antivirus":{"database_dir":"/var/lib/clamav","warn_hours":24,"crit_hours":72,"required":false},
    "backup":{"sources":[{"tool":"restic","repository":"/srv/r","password_file":"/etc/pw",
                          "warn_hours":26,"crit_hours":48}]},
    "firewall":{"required":false},
    "services":{"units":["ssh.service"],"max_failed_units":1},
    "certificates":{"endpoints":["example.org:443"],"files":["/etc/a.pem"],"warn_days":14,"crit_days":3},
    "reachability":{"targets":[{"name":"gw","kind":"tcp","address":"192.0.2.1","port":22}]},
    "plugin":{"plugins":[{"name":"load","command":["/usr/lib/nagios/plugins/check_load"]}]},
    "inventory":{"enabled":false}}})");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->revision, 7);
  EXPECT_EQ(r->cpu, (PercentThresholds{90, 98}));
  EXPECT_EQ(r->disk_space, (PercentThresholds{80, 90}));
  EXPECT_EQ(r->disk_ignore_mounts, std::vector<std::string>{"/boot/efi"});
  EXPECT_EQ(r->updates_warn_days_since, 7);
  EXPECT_FALSE(r->antivirus_required);
  ASSERT_EQ(r->backup_sources.size(), 1u);
  EXPECT_EQ(r->backup_sources[0].password_file, "/etc/pw");
  EXPECT_FALSE(r->firewall_required);
  EXPECT_EQ(r->services_max_failed, 1);
  EXPECT_EQ(r->certificates_crit_days, 3);
  ASSERT_EQ(r->reachability_targets.size(), 1u);
  EXPECT_EQ(r->reachability_targets[0].port, 22);
  ASSERT_EQ(r->plugins.size(), 1u);
  EXPECT_EQ(r->plugins[0].command.size(), 1u);
  EXPECT_FALSE(r->inventory_schedule.enabled);
  EXPECT_EQ(r->inventory_schedule.interval, seconds(3600));
}

TEST(AgentConfigTest, ListsReplaceRatherThanMerge) {
  AgentConfig defaults = FullConfig();
  auto r = DecodeAgentConfig(R"({"checks":{"backup":{"sources":[]}}})", defaults);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->backup_sources.empty());
  EXPECT_EQ(r->plugins, defaults.plugins);
}

TEST(AgentConfigTest, UnknownKeysAndChecksAreRefused) {
  EXPECT_TRUE(HasField(Decode(R"({"revison":1})"), "revison"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"heartbeat":{}}})"), "checks.heartbeat"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"cpu":{"warn":1}}})"), "checks.cpu.warn"));
  // Keys of one check are not accepted in another.
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"memory":{"ignore_mounts":[]}}})"),
                       "checks.memory.ignore_mounts"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"inventory":{"warn_percent":1}}})"),
                       "checks.inventory.warn_percent"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"backup":{"sources":[{"tool":"restic","repository":"/r",
                                                          "pasword_file":"x"}]}}})"),
                       "checks.backup.sources[0].pasword_file"));
}

TEST(AgentConfigTest, ErrorsNameEveryWrongField) {
  auto r = Decode(R"({"revision":-1,"checks":{
    "disk":{"warn_percent":101,"crit_inodes_percent":"95"},
    "cpu":{"interval_seconds":5,"timeout_seconds":0},
    "memory":{"warn_percent":96,"crit_percent":95},
    "swap":{"enabled":"yes"}}})");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(HasField(r, "revision"));
  EXPECT_TRUE(HasField(r, "checks.disk.warn_percent"));
  EXPECT_TRUE(HasField(r, "checks.disk.crit_inodes_percent"));
  EXPECT_TRUE(HasField(r, "checks.cpu.interval_seconds"));
  EXPECT_TRUE(HasField(r, "checks.cpu.timeout_seconds"));
  EXPECT_TRUE(HasField(r, "checks.memory.warn_percent"));
  EXPECT_TRUE(HasField(r, "checks.swap.enabled"));
}

TEST(AgentConfigTest, ScheduleRanges) {
  EXPECT_TRUE(Decode(R"({"checks":{"cpu":{"interval_seconds":10,"timeout_seconds":1}}})"));
  EXPECT_TRUE(Decode(R"({"checks":{"cpu":{"interval_seconds":86400,"timeout_seconds":600}}})"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"cpu":{"interval_seconds":86401}}})"),
                       "checks.cpu.interval_seconds"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"cpu":{"interval_seconds":9}}})"),
                       "checks.cpu.interval_seconds"));
  EXPECT_TRUE(
      HasField(Decode(R"({"checks":{"cpu":{"timeout_seconds":601,"interval_seconds":900}}})"),
               "checks.cpu.timeout_seconds"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"cpu":{"interval_seconds":60.5}}})"),
                       "checks.cpu.interval_seconds"));
  // The timeout must stay below the interval, whichever of the two was changed.
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"cpu":{"timeout_seconds":60}}})"),
                       "checks.cpu.timeout_seconds"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"cpu":{"interval_seconds":20}}})"),
                       "checks.cpu.interval_seconds"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"cpu":{"enabled":null}}})"), "checks.cpu.enabled"));
}

TEST(AgentConfigTest, ThresholdRules) {
  EXPECT_TRUE(Decode(R"({"checks":{"cpu":{"warn_percent":95,"crit_percent":95}}})"));
  EXPECT_TRUE(Decode(R"({"checks":{"cpu":{"warn_percent":0.5,"crit_percent":99.9}}})"));
  EXPECT_TRUE(
      HasField(Decode(R"({"checks":{"cpu":{"crit_percent":50}}})"), "checks.cpu.warn_percent"));
  EXPECT_TRUE(
      HasField(Decode(R"({"checks":{"cpu":{"warn_percent":-1}}})"), "checks.cpu.warn_percent"));
  EXPECT_TRUE(
      HasField(Decode(R"({"checks":{"cpu":{"warn_percent":1e308}}})"), "checks.cpu.warn_percent"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"antivirus":{"warn_hours":200}}})"),
                       "checks.antivirus.warn_hours"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"certificates":{"crit_days":30}}})"),
                       "checks.certificates.crit_days"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"updates":{"warn_pending":0}}})"),
                       "checks.updates.warn_pending"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"services":{"max_failed_units":-1}}})"),
                       "checks.services.max_failed_units"));
  EXPECT_TRUE(
      HasField(Decode(R"({"checks":{"firewall":{"required":1}}})"), "checks.firewall.required"));
}

TEST(AgentConfigTest, BackupSources) {
  auto bad = Decode(R"({"checks":{"backup":{"sources":[
      {"tool":"tar","repository":"/r"},
      {"tool":"restic","repository":""},
      {"tool":"borg"},
      {"tool":"restic","repository":"/r","warn_hours":50,"crit_hours":48},
      {"tool":"marker","repository":"/m","password_file":"/pw"},
      "restic",
      {"tool":"restic","repository":"/r","crit_hours":0}]}}})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_TRUE(HasField(bad, "checks.backup.sources[0].tool"));
  EXPECT_TRUE(HasField(bad, "checks.backup.sources[1].repository"));
  EXPECT_TRUE(HasField(bad, "checks.backup.sources[2].repository"));
  EXPECT_TRUE(HasField(bad, "checks.backup.sources[3].warn_hours"));
  EXPECT_TRUE(HasField(bad, "checks.backup.sources[4].password_file"));
  EXPECT_TRUE(HasField(bad, "checks.backup.sources[5]"));
  EXPECT_TRUE(HasField(bad, "checks.backup.sources[6].crit_hours"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"backup":{"sources":{}}}})"), "checks.backup.sources"));

  auto ok = Decode(R"({"checks":{"backup":{"sources":[{"tool":"borg","repository":"/b"}]}}})");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->backup_sources[0], (BackupSource{"borg", "/b", "", 26, 48}));
}

TEST(AgentConfigTest, ReachabilityTargets) {
  auto bad = Decode(R"({"checks":{"reachability":{"targets":[
      {"name":"a","kind":"tcp","address":"h"},
      {"name":"b","kind":"ping","address":"h","port":22},
      {"name":"","kind":"ping","address":"h"},
      {"name":"d","kind":"icmp","address":"h"},
      {"name":"e","kind":"http","address":"ftp://x"},
      {"name":"f","kind":"tcp","address":"h","port":65536},
      {"name":"e","kind":"ping","address":"h"}]}}})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_TRUE(HasField(bad, "checks.reachability.targets[0].port"));
  EXPECT_TRUE(HasField(bad, "checks.reachability.targets[1].port"));
  EXPECT_TRUE(HasField(bad, "checks.reachability.targets[2].name"));
  EXPECT_TRUE(HasField(bad, "checks.reachability.targets[3].kind"));
  EXPECT_TRUE(HasField(bad, "checks.reachability.targets[4].address"));
  EXPECT_TRUE(HasField(bad, "checks.reachability.targets[5].port"));
  EXPECT_TRUE(HasField(bad, "checks.reachability.targets[6].name"));  // duplicate
}

TEST(AgentConfigTest, PluginsAndCertificates) {
  auto bad = Decode(R"({"checks":{"plugin":{"plugins":[
      {"name":"a","command":[]},
      {"name":"b","command":[""]},
      {"name":"c"},
      {"name":"d","command":"/bin/true"},
      {"name":"a","command":["/x"]}]}}})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_TRUE(HasField(bad, "checks.plugin.plugins[0].command"));
  EXPECT_TRUE(HasField(bad, "checks.plugin.plugins[1].command"));
  EXPECT_TRUE(HasField(bad, "checks.plugin.plugins[2].command"));
  EXPECT_TRUE(HasField(bad, "checks.plugin.plugins[3].command"));
  EXPECT_TRUE(HasField(bad, "checks.plugin.plugins[4].name"));

  auto certs = Decode(
      R"({"checks":{"certificates":{"endpoints":["ok.example:443","noport","h:0","h:99999",":443","a b:1"]}}})");
  ASSERT_FALSE(certs.has_value());
  EXPECT_FALSE(HasField(certs, "checks.certificates.endpoints[0]"));
  for (int i = 1; i <= 5; ++i) {
    EXPECT_TRUE(HasField(certs, "checks.certificates.endpoints[" + std::to_string(i) + "]")) << i;
  }
}

TEST(AgentConfigTest, HostileStrings) {
  // Control characters, newlines, invalid UTF-8, overlong strings, empty list entries.
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"smart":{"devices":["/dev/sda\n"]}}})"),
                       "checks.smart.devices[0]"));
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"smart":{"devices":["/dev/\u0000sda"]}}})"),
                       "checks.smart.devices[0]"));
  EXPECT_TRUE(
      HasField(Decode(R"({"checks":{"smart":{"devices":[""]}}})"), "checks.smart.devices[0]"));
  EXPECT_TRUE(
      HasField(Decode(R"({"checks":{"smart":{"devices":[1]}}})"), "checks.smart.devices[0]"));
  std::string longs(1025, 'a');
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"antivirus":{"database_dir":")" + longs + R"("}}})"),
                       "checks.antivirus.database_dir"));
  EXPECT_TRUE(Decode(R"({"checks":{"antivirus":{"database_dir":")" + longs.substr(1) + R"("}}})"));
  // Invalid UTF-8 is refused by the parser.
  EXPECT_FALSE(Decode("{\"checks\":{\"smart\":{\"devices\":[\"\xff\xfe\"]}}}").has_value());
  // Unicode that is valid is accepted.
  auto u = Decode(R"({"checks":{"services":{"units":["dienst-ä.service"]}}})");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->services_units[0], "dienst-ä.service");
}

TEST(AgentConfigTest, ListSizeLimits) {
  std::string items;
  for (int i = 0; i < 101; ++i) {
    items += (i ? "," : "") + std::string("\"/m") + std::to_string(i) + "\"";
  }
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"disk":{"ignore_mounts":[)" + items + "]}}}"),
                       "checks.disk.ignore_mounts"));
  std::string targets;
  for (int i = 0; i < 101; ++i) {
    targets += (i ? "," : "") + std::string(R"({"name":"t)") + std::to_string(i) +
               R"(","kind":"ping","address":"h"})";
  }
  EXPECT_TRUE(HasField(Decode(R"({"checks":{"reachability":{"targets":[)" + targets + "]}}}"),
                       "checks.reachability.targets"));
  std::string args = "\"/p\"";
  for (int i = 0; i < 64; ++i) {
    args += ",\"-v\"";
  }
  EXPECT_TRUE(HasField(
      Decode(R"({"checks":{"plugin":{"plugins":[{"name":"p","command":[)" + args + "]}]}}}"),
      "checks.plugin.plugins[0].command"));
}

TEST(AgentConfigTest, MalformedAndOversizedInput) {
  for (const char* text :
       {"", "[]", "null", "42", "\"x\"", "{", R"({"checks":[]})", R"({"checks":null})",
        R"({"checks":{"cpu":[]}})", R"({"revision":"7"})", R"({"revision":1.5})",
        R"({"revision":18446744073709551615})", R"({"a":1,"a":2})"}) {
    auto r = Decode(text);
    EXPECT_FALSE(r.has_value()) << text;
    if (!r.has_value()) {
      EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << text;
    }
  }
  std::string deep = R"({"checks":{"plugin":{"plugins":[{"name":"x","command":[)";
  deep += std::string(50, '[') + std::string(50, ']') + "]}]}}}";
  EXPECT_FALSE(Decode(deep).has_value());

  std::string big =
      R"({"checks":{"antivirus":{"database_dir":")" + std::string(300 * 1024, 'a') + R"("}}})";
  auto r = Decode(big);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kPayloadTooLarge);
}

TEST(AgentConfigTest, ManyErrorsAreBounded) {
  std::string checks;
  std::string text = R"({"checks":{"backup":{"sources":[)";
  for (int i = 0; i < 100; ++i) {
    text += (i ? "," : "") + std::string(R"({"tool":"x","repository":"","zz":1,"yy":2})");
  }
  text += "]}}}";
  auto r = Decode(text);
  ASSERT_FALSE(r.has_value());
  EXPECT_LE(r.error().field_errors().size(), 110u);
  EXPECT_GE(r.error().field_errors().size(), 100u);
}

}  // namespace
}  // namespace vigil::proto
