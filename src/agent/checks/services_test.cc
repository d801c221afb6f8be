#include "agent/checks/services.h"
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

// systemd does not run on the build machine: the systemctl outputs in testdata/system are
// hand-written in systemd 252's format (see its README.md).
TEST(ParseSystemctlShowTest, KeyValueLinesInAnyOrder) {
  auto st = ParseSystemctlShow(ReadSystemTestdata("systemctl_show_active.txt"));
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  EXPECT_EQ(*st, (UnitState{"loaded", "active", "running"}));
  st = ParseSystemctlShow(ReadSystemTestdata("systemctl_show_failed.txt"));
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(*st, (UnitState{"loaded", "failed", "failed"}));
  st = ParseSystemctlShow(ReadSystemTestdata("systemctl_show_not_found.txt"));
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->load_state, "not-found");
}

TEST(ParseSystemctlShowTest, RefusesIncompleteOutput) {
  for (std::string_view bad : {"", "active\nrunning\nloaded\n", "LoadState=loaded\n",
                               "ActiveState=active\nLoadState=\n", "garbage"}) {
    auto st = ParseSystemctlShow(bad);
    ASSERT_FALSE(st.has_value()) << bad;
    EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
  }
  auto st = ParseSystemctlShow(std::string(kMaxSystemctlOutputBytes + 1, '='));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), ErrorCode::kPayloadTooLarge);
  // Hostile values are sanitised and bounded.
  st = ParseSystemctlShow(
      "LoadState=loaded\x1b]0;pwn\x07\nActiveState=" + std::string(10'000, 'a') + "\xff\n");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->load_state.find('\x1b'), std::string::npos);
  EXPECT_LE(st->active_state.size(), 70u);
  EXPECT_TRUE(json::IsValidUtf8(st->active_state));
}

TEST(ParseFailedUnitsTest, PlainListAndBullets) {
  auto f = ParseFailedUnits(ReadSystemTestdata("systemctl_failed_units.txt"));
  ASSERT_TRUE(f.has_value()) << f.error().ToString();
  EXPECT_EQ(f->count, 2u);
  ASSERT_EQ(f->units.size(), 2u);
  EXPECT_EQ(f->units[0], (FailedUnit{"logrotate.service", "Rotate log files"}));
  EXPECT_EQ(f->units[1].name, "nginx.service");
  f = ParseFailedUnits(ReadSystemTestdata("systemctl_failed_units_bullet.txt"));
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->units.size(), 1u);
  EXPECT_EQ(f->units[0].name, "certbot.service");
  f = ParseFailedUnits(ReadSystemTestdata("systemctl_failed_units_none.txt"));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->count, 0u);
  // A legend printed anyway (older systemd ignores --no-legend in some modes).
  f = ParseFailedUnits(
      "UNIT LOAD ACTIVE SUB DESCRIPTION\nx.service loaded failed failed X\n\n"
      "1 loaded units listed.\n");
  ASSERT_TRUE(f.has_value()) << f.error().ToString();
  EXPECT_EQ(f->count, 1u);
}

TEST(ParseFailedUnitsTest, MalformedAndOversized) {
  auto f = ParseFailedUnits("x.service loaded failed\n");
  ASSERT_FALSE(f.has_value());
  EXPECT_EQ(f.error().code(), ErrorCode::kInvalidArgument);
  std::string many;
  for (int i = 0; i < 1000; ++i) {
    many += "u" + std::to_string(i) + ".service loaded failed failed U\n";
  }
  f = ParseFailedUnits(many);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->count, 1000u);
  EXPECT_EQ(f->units.size(), kMaxFailedUnitsKept);
  EXPECT_EQ(ParseFailedUnits(std::string(kMaxSystemctlOutputBytes + 1, ' ')).error().code(),
            ErrorCode::kPayloadTooLarge);
}

TEST(IsValidUnitNameTest, Names) {
  EXPECT_TRUE(IsValidUnitName("nginx.service"));
  EXPECT_TRUE(IsValidUnitName("getty@tty1.service"));
  EXPECT_TRUE(IsValidUnitName("systemd-fsck@dev-disk-by\\x2duuid-1234.service"));
  EXPECT_FALSE(IsValidUnitName(""));
  EXPECT_FALSE(IsValidUnitName("--help"));
  EXPECT_FALSE(IsValidUnitName("-H"));
  EXPECT_FALSE(IsValidUnitName("a b.service"));
  EXPECT_FALSE(IsValidUnitName("a;reboot"));
  EXPECT_FALSE(IsValidUnitName(std::string(300, 'a')));
}

TEST(EvaluateRequiredUnitTest, States) {
  auto r = EvaluateRequiredUnit("nginx.service", {"loaded", "active", "running"});
  EXPECT_EQ(r.check, "services");
  EXPECT_EQ(r.target, "nginx.service");
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.message, "nginx.service is active (running)");
  r = EvaluateRequiredUnit("nginx.service", {"loaded", "failed", "failed"});
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message, "nginx.service is failed (failed)");
  EXPECT_EQ(r.details["active_state"], "failed");
  r = EvaluateRequiredUnit("nginx.service", {"loaded", "inactive", "dead"});
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  r = EvaluateRequiredUnit("foo.service", {"not-found", "inactive", "dead"});
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message, "foo.service not found");
  r = EvaluateRequiredUnit("foo.service", {"masked", "inactive", "dead"});
  EXPECT_EQ(r.message, "foo.service is masked");
  r = EvaluateRequiredUnit("db.service", {"loaded", "activating", "start"});
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  r = EvaluateRequiredUnit("db.service", {"loaded", "reloading", "reload"});
  EXPECT_EQ(r.status, CheckStatus::kOk);
}

TEST(EvaluateFailedUnitsTest, CountAgainstMax) {
  auto f = ParseFailedUnits(ReadSystemTestdata("systemctl_failed_units.txt")).value();
  auto r = EvaluateFailedUnits(f, 0);
  EXPECT_EQ(r.target, "");
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message, "2 failed units: logrotate.service, nginx.service");
  ASSERT_EQ(r.metrics.size(), 1u);
  EXPECT_EQ(r.metrics[0].name, "services.failed");
  EXPECT_EQ(r.metrics[0].value, 2);
  EXPECT_EQ(r.metrics[0].warn, 1);
  EXPECT_EQ(EvaluateFailedUnits(f, 2).status, CheckStatus::kOk);
  r = EvaluateFailedUnits({}, 0);
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.message, "no failed units");
}

}  // namespace
}  // namespace vigil::checks
