#include "agent/checks/plugin.h"
#include "agent/checks/test_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/json.h"

namespace vigil::checks {
namespace {

using namespace vigil::checks::testing;  // NOLINT: test helpers

using proto::CheckStatus;

std::filesystem::path TestdataDir() {
#ifdef VIGIL_CHECKS_TESTDATA_DIR
  return VIGIL_CHECKS_TESTDATA_DIR;
#else
  return std::filesystem::path(__FILE__).parent_path() / "testdata";
#endif
}

// Outputs recorded from Debian 12's monitoring-plugins-basic 2.3.3; the exit code is in the file
// name (plugin_<what>_exit<N>.txt).
std::string ReadTestdata(const std::string& name) {
  std::ifstream in(TestdataDir() / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing test data " << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

proto::CheckResult ParseRecorded(const std::string& name, int exit_code) {
  return ParsePluginOutput(exit_code, ReadTestdata(name), "check");
}

TEST(PluginRecordedTest, EveryRecordedOutputParsesCleanly) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(TestdataDir())) {
    std::string name = entry.path().filename().string();
    if (name.rfind("plugin_", 0) != 0) {
      continue;
    }
    size_t pos = name.rfind("_exit");
    ASSERT_NE(pos, std::string::npos) << name;
    int exit_code = std::stoi(name.substr(pos + 5));
    auto r = ParseRecorded(name, exit_code);
    EXPECT_EQ(static_cast<int>(r.status), exit_code) << name;
    EXPECT_FALSE(r.message.empty()) << name;
    EXPECT_NE(r.message, "(no output)") << name;
    EXPECT_TRUE(json::IsValidUtf8(r.message)) << name;
    EXPECT_EQ(r.details.count("perfdata_errors"), 0u) << name;
    EXPECT_EQ(r.details.count("long_text"), 0u) << name;
    EXPECT_EQ(r.check, "plugin");
    EXPECT_EQ(r.target, "check");
    ++files;
  }
  EXPECT_GE(files, 15);
}

TEST(PluginRecordedTest, CheckDisk) {
  auto r = ParseRecorded("plugin_disk_exit0.txt", 0);
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.message, "DISK OK - free space: / 75792MiB (77% inode=97%);");
  ASSERT_EQ(r.metrics.size(), 1u);
  const auto& m = r.metrics[0];
  EXPECT_EQ(m.name, "/");
  EXPECT_EQ(m.value, 23271047168.0);
  EXPECT_EQ(m.unit, "B");
  EXPECT_EQ(m.warn, 216442024755.0);
  EXPECT_EQ(m.crit, 243497277849.0);
  EXPECT_EQ(m.min, 0.0);
  EXPECT_EQ(m.max, 270552530944.0);
  auto c = ParseRecorded("plugin_disk_crit_exit2.txt", 2);
  EXPECT_EQ(c.status, CheckStatus::kCritical);
  EXPECT_EQ(c.message, "DISK CRITICAL - free space: / 75792MiB (77% inode=97%);");
}

TEST(PluginRecordedTest, CheckLoadWithTrailingSemicolonsAndSpace) {
  auto r = ParseRecorded("plugin_load_exit0.txt", 0);
  EXPECT_EQ(r.message, "LOAD OK - total load average: 2.63, 1.97, 1.79");
  ASSERT_EQ(r.metrics.size(), 3u);
  EXPECT_EQ(r.metrics[0].name, "load1");
  EXPECT_DOUBLE_EQ(r.metrics[0].value, 2.63);
  EXPECT_EQ(r.metrics[0].unit, "");
  EXPECT_EQ(r.metrics[0].warn, 5.0);
  EXPECT_EQ(r.metrics[0].crit, 10.0);
  EXPECT_EQ(r.metrics[0].min, 0.0);
  EXPECT_FALSE(r.metrics[0].max.has_value());
  EXPECT_EQ(r.metrics[2].name, "load15");
  EXPECT_EQ(r.metrics[2].crit, 6.0);
}

TEST(PluginRecordedTest, ProcsUsersSwapFileAgePing) {
  auto procs = ParseRecorded("plugin_procs_exit0.txt", 0);
  EXPECT_EQ(procs.message, "PROCS OK: 96 processes");
  ASSERT_EQ(procs.metrics.size(), 1u);
  EXPECT_EQ(procs.metrics[0].value, 96);
  EXPECT_EQ(procs.metrics[0].warn, 250);
  EXPECT_FALSE(procs.metrics[0].max.has_value());

  auto users = ParseRecorded("plugin_users_exit0.txt", 0);
  ASSERT_EQ(users.metrics.size(), 1u);
  EXPECT_EQ(users.metrics[0].name, "users");
  EXPECT_EQ(users.metrics[0].value, 0);

  auto swap = ParseRecorded("plugin_swap_exit2.txt", 2);
  EXPECT_EQ(swap.status, CheckStatus::kCritical);
  ASSERT_EQ(swap.metrics.size(), 1u);
  EXPECT_EQ(swap.metrics[0].unit, "B");

  auto age = ParseRecorded("plugin_file_age_exit2.txt", 2);
  ASSERT_EQ(age.metrics.size(), 2u);
  EXPECT_EQ(age.metrics[0].name, "age");
  EXPECT_EQ(age.metrics[0].value, 5109);
  EXPECT_EQ(age.metrics[0].unit, "s");
  EXPECT_EQ(age.metrics[0].crit, 120);
  EXPECT_FALSE(age.metrics[0].min.has_value());
  EXPECT_EQ(age.metrics[1].name, "size");

  auto ping = ParseRecorded("plugin_ping_local_exit0.txt", 0);
  const auto* rta = FindMetric(ping, "rta");
  ASSERT_NE(rta, nullptr);
  EXPECT_EQ(rta->unit, "ms");
  EXPECT_DOUBLE_EQ(rta->value, 0.065);
  const auto* pl = FindMetric(ping, "pl");
  ASSERT_NE(pl, nullptr);
  EXPECT_EQ(pl->unit, "%");
  EXPECT_EQ(pl->crit, 40);
}

TEST(PluginRecordedTest, NoPerfdata) {
  auto dummy = ParseRecorded("plugin_dummy_crit_exit2.txt", 2);
  EXPECT_EQ(dummy.status, CheckStatus::kCritical);
  EXPECT_EQ(dummy.message, "CRITICAL: text");
  EXPECT_TRUE(dummy.metrics.empty());
  auto unknown = ParseRecorded("plugin_dummy_unknown_exit3.txt", 3);
  EXPECT_EQ(unknown.status, CheckStatus::kUnknown);
  EXPECT_EQ(unknown.message, "UNKNOWN");
  auto tcp = ParseRecorded("plugin_tcp_refused_exit2.txt", 2);
  EXPECT_EQ(tcp.message, "connect to address 127.0.0.1 and port 1: Connection refused");
}

TEST(PluginTest, MultiLineOutputOfTheGuidelines) {
  // The example of the Monitoring Plugins development guidelines.
  auto r = ParsePluginOutput(0,
                             "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n"
                             "/ 15272 MB (77%);\n"
                             "/boot 68 MB (69%);\n"
                             "/home 69357 MB (27%);\n"
                             "/var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n"
                             "/home=69357MB;253404;253409;0;253414 \n"
                             "/var/log=818MB;970;975;0;980\n",
                             "disk");
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.message, "DISK OK - free space: / 3326 MB (56%);");
  ASSERT_EQ(r.metrics.size(), 4u);
  EXPECT_EQ(r.metrics[0].name, "/");
  EXPECT_EQ(r.metrics[0].unit, "MB");
  EXPECT_EQ(r.metrics[1].name, "/boot");
  EXPECT_EQ(r.metrics[2].name, "/home");
  EXPECT_EQ(r.metrics[2].max, 253414);
  EXPECT_EQ(r.metrics[3].name, "/var/log");
  EXPECT_EQ(r.details.at("long_text"),
            "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n/var/log 819 MB (84%);");
  EXPECT_EQ(r.details.count("perfdata_errors"), 0u);
}

TEST(PluginTest, QuotedLabelsRangesAndUnits) {
  auto r = ParsePluginOutput(1,
                             "WARN | 'my label'=5s;10:;@10:20 'it''s'=3ms;~:5;:7 'a=b'=1us;;;; "
                             "c=2c;0:;@~:3;x;y d=-1.5e3KB e=+7TB f=1KiB",
                             "p");
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  ASSERT_EQ(r.metrics.size(), 7u) << r.details["perfdata_errors"];
  EXPECT_EQ(r.metrics[0].name, "my label");
  EXPECT_EQ(r.metrics[0].warn, 10);
  EXPECT_EQ(r.metrics[0].crit, 20);
  EXPECT_EQ(r.metrics[1].name, "it's");
  EXPECT_EQ(r.metrics[1].warn, 5);
  EXPECT_EQ(r.metrics[1].crit, 7);
  EXPECT_EQ(r.metrics[2].name, "a=b");
  EXPECT_EQ(r.metrics[2].unit, "us");
  EXPECT_FALSE(r.metrics[2].warn.has_value());
  EXPECT_EQ(r.metrics[3].warn, 0);
  EXPECT_EQ(r.metrics[3].crit, 3);
  EXPECT_FALSE(r.metrics[3].min.has_value());
  EXPECT_EQ(r.metrics[4].value, -1500);
  EXPECT_EQ(r.metrics[4].unit, "KB");
  EXPECT_EQ(r.metrics[5].value, 7);
  EXPECT_EQ(r.metrics[6].unit, "KiB");
}

TEST(PluginTest, ExitCodes) {
  EXPECT_EQ(ParsePluginOutput(0, "x", "p").status, CheckStatus::kOk);
  EXPECT_EQ(ParsePluginOutput(1, "x", "p").status, CheckStatus::kWarning);
  EXPECT_EQ(ParsePluginOutput(2, "x", "p").status, CheckStatus::kCritical);
  EXPECT_EQ(ParsePluginOutput(3, "x", "p").status, CheckStatus::kUnknown);
  auto nf = ParsePluginOutput(127, "", "p");
  EXPECT_EQ(nf.status, CheckStatus::kUnknown);
  EXPECT_EQ(nf.message, "exit code 127: (no output)");
  EXPECT_EQ(nf.details.at("exit_code"), "127");
  EXPECT_EQ(ParsePluginOutput(-9, "killed", "p").message, "exit code -9: killed");
  EXPECT_EQ(ParsePluginOutput(4, "x", "p").status, CheckStatus::kUnknown);
}

TEST(PluginTest, NoBarManyBarsAndEmpty) {
  auto none = ParsePluginOutput(0, "OK - all good\n", "p");
  EXPECT_EQ(none.message, "OK - all good");
  EXPECT_TRUE(none.metrics.empty());
  auto many = ParsePluginOutput(0, "OK | a=1 | b=2 || c=3\n", "p");
  EXPECT_EQ(many.message, "OK");
  ASSERT_EQ(many.metrics.size(), 3u);
  EXPECT_EQ(many.details.at("perfdata_errors"), "2");
  auto empty = ParsePluginOutput(0, "", "p");
  EXPECT_EQ(empty.message, "(no output)");
  auto bar_only = ParsePluginOutput(0, "|\n|\n|", "p");
  EXPECT_EQ(bar_only.message, "(no output)");
  EXPECT_TRUE(bar_only.metrics.empty());
  auto crlf = ParsePluginOutput(0, "OK\r\nline\r\n", "p");
  EXPECT_EQ(crlf.message, "OK");
  EXPECT_EQ(crlf.details.at("long_text"), "line");
}

TEST(PluginTest, BrokenPerfdataIsSkipped) {
  auto r =
      ParsePluginOutput(0, "OK | x=abc y=;; =5 z=5XYZ123 w=1,5 n=nan i=inf u=U 'open=1 ok=1", "p");
  EXPECT_TRUE(r.metrics.empty());
  auto r2 = ParsePluginOutput(0, "OK | x=abc y=;; =5 z=5XYZ123 w=1,5 n=nan i=inf u=U ok=1", "p");
  ASSERT_EQ(r2.metrics.size(), 1u);
  EXPECT_EQ(r2.metrics[0].name, "ok");
  EXPECT_EQ(r2.details.at("perfdata_errors"), "7");
  auto r3 = ParsePluginOutput(0, "OK | a=1;bogus;10:x;;zz", "p");
  ASSERT_EQ(r3.metrics.size(), 1u);
  EXPECT_FALSE(r3.metrics[0].warn.has_value());
  EXPECT_EQ(r3.metrics[0].crit, 10);
  EXPECT_FALSE(r3.metrics[0].max.has_value());
}

TEST(PluginTest, ControlCharactersAndInvalidUtf8) {
  std::string out =
      "OK \x01\x1b[31mred\x1b[0m \xff\xfe caf\xc3\xa9 \xc3\x28 \xed\xa0\x80 \xc2\x85 end|"
      "'\xff\x01'=1\n\x02long \xf0\x9f\x98\n";
  auto r = ParsePluginOutput(0, out, "p");
  EXPECT_TRUE(json::IsValidUtf8(r.message));
  EXPECT_EQ(r.message.find('\x1b'), std::string::npos);
  EXPECT_EQ(r.message.find('\x01'), std::string::npos);
  EXPECT_NE(r.message.find("caf\xc3\xa9"), std::string::npos);
  ASSERT_EQ(r.metrics.size(), 1u);
  EXPECT_TRUE(json::IsValidUtf8(r.metrics[0].name));
  EXPECT_TRUE(json::IsValidUtf8(r.details.at("long_text")));
  auto nul = ParsePluginOutput(0, std::string("OK\0hidden", 9), "p");
  EXPECT_EQ(nul.message, "OK hidden");
}

TEST(PluginTest, EverythingIsBounded) {
  std::string perf = "OK |";
  for (int i = 0; i < 1000; ++i) {
    perf += " m" + std::to_string(i) + "=" + std::to_string(i);
  }
  auto r = ParsePluginOutput(0, perf, "p");
  EXPECT_EQ(r.metrics.size(), kMaxPluginMetrics);
  EXPECT_EQ(r.details.at("truncated"), "true");

  std::string huge(4 << 20, 'x');
  auto h = ParsePluginOutput(0, huge, "p");
  EXPECT_LE(h.message.size(), kMaxPluginMessageBytes + 3);
  EXPECT_EQ(h.details.at("truncated"), "true");

  std::string lines = "OK\n";
  for (int i = 0; i < 100000; ++i) {
    lines += "long text line\n";
  }
  auto l = ParsePluginOutput(0, lines, "p");
  EXPECT_LE(l.details.at("long_text").size(), kMaxPluginLongTextBytes + 3);

  std::string long_label = "OK | '" + std::string(kMaxPluginLabelBytes + 1, 'a') + "'=1";
  EXPECT_TRUE(ParsePluginOutput(0, long_label, "p").metrics.empty());

  // A multi-byte character at the cut stays whole.
  std::string utf8_cut;
  for (size_t i = 0; i < kMaxPluginMessageBytes; ++i) {
    utf8_cut += "\xc3\xa9";
  }
  EXPECT_TRUE(json::IsValidUtf8(ParsePluginOutput(0, utf8_cut, "p").message));
}

}  // namespace
}  // namespace vigil::checks
