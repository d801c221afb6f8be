#include "agent/checks/updates.h"
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

// See testdata/system/README.md for where each file comes from.
TEST(ParseAptSimulationTest, RecordedDebian12DistUpgrade) {
  auto sim = ParseAptSimulation(ReadSystemTestdata("apt_dist_upgrade_debian12.txt"));
  ASSERT_TRUE(sim.has_value()) << sim.error().ToString();
  EXPECT_EQ(sim->pending, 131u);  // grep -c '^Inst'
  EXPECT_EQ(sim->security, 82u);  // grep '^Inst' | grep -c -- -security
  EXPECT_EQ(sim->removals, 0u);
  ASSERT_EQ(sim->updates.size(), 131u);
  // Security updates come first.
  EXPECT_TRUE(sim->updates.front().security);
  EXPECT_FALSE(sim->updates.back().security);
  bool found = false;
  for (const auto& u : sim->updates) {
    if (u.package == "libgcrypt20") {
      found = true;
      EXPECT_EQ(u.current_version, "1.10.1-3");
      EXPECT_EQ(u.new_version, "1.10.1-3+deb12u1");
      EXPECT_EQ(u.origins, "Debian:12.15/oldstable, Debian-Security:12/oldstable-security");
      EXPECT_TRUE(u.security);
    }
    if (u.package == "base-files") {
      EXPECT_FALSE(u.security);
      EXPECT_EQ(u.origins, "Debian:12.15/oldstable");
    }
  }
  EXPECT_TRUE(found);
}

TEST(ParseAptSimulationTest, UbuntuWithNewAndRemovedPackages) {
  auto sim = ParseAptSimulation(ReadSystemTestdata("apt_ubuntu_hand.txt"));
  ASSERT_TRUE(sim.has_value()) << sim.error().ToString();
  EXPECT_EQ(sim->pending, 4u);
  EXPECT_EQ(sim->security, 3u);
  EXPECT_EQ(sim->removals, 1u);
  ASSERT_EQ(sim->updates.size(), 4u);
  EXPECT_EQ(sim->updates[0].package, "linux-image-5.15.0-126-generic");
  EXPECT_EQ(sim->updates[0].current_version, "");  // a new package
  EXPECT_EQ(sim->updates[0].new_version, "5.15.0-126.136");
  EXPECT_EQ(sim->updates[1].package, "openssl");  // the trailing "[libssl3:amd64 ]" is ignored
  EXPECT_EQ(sim->updates[3].package, "tzdata");
  EXPECT_FALSE(sim->updates[3].security);
}

TEST(ParseAptSimulationTest, UpToDateAndEmpty) {
  auto sim = ParseAptSimulation(ReadSystemTestdata("apt_up_to_date.txt"));
  ASSERT_TRUE(sim.has_value());
  EXPECT_EQ(sim->pending, 0u);
  EXPECT_TRUE(sim->updates.empty());
  auto empty = ParseAptSimulation("");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->pending, 0u);
}

TEST(ParseAptSimulationTest, RefusesMalformedLines) {
  for (std::string_view bad : {"Inst \n", "Inst    \n", "Inst foo [1.0 (2.0 Debian:12/stable)\n",
                               "Inst foo [1.0] (2.0 Debian:12/stable [amd64]\n", "Remv \n"}) {
    auto sim = ParseAptSimulation(bad);
    ASSERT_FALSE(sim.has_value()) << bad;
    EXPECT_EQ(sim.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(ParseAptSimulationTest, HostileInputIsBoundedAndSanitised) {
  // Control characters and invalid UTF-8 in names and origins; an overlong version.
  std::string hostile = "Inst ev\x1b[31mil [1\xff] (" + std::string(10'000, '9') +
                        " Evil-security\x07:1/x [amd64])\r\n";
  auto sim = ParseAptSimulation(hostile);
  ASSERT_TRUE(sim.has_value()) << sim.error().ToString();
  ASSERT_EQ(sim->updates.size(), 1u);
  EXPECT_TRUE(sim->updates[0].security);
  EXPECT_TRUE(json::IsValidUtf8(sim->updates[0].package));
  EXPECT_EQ(sim->updates[0].package.find('\x1b'), std::string::npos);
  EXPECT_TRUE(json::IsValidUtf8(sim->updates[0].current_version));
  EXPECT_LE(sim->updates[0].new_version.size(), kMaxAptFieldBytes + 8);

  std::string many;
  for (int i = 0; i < 1000; ++i) {
    many += "Inst p" + std::to_string(i) + " [1] (2 Debian:12/stable [amd64])\n";
  }
  sim = ParseAptSimulation(many);
  ASSERT_TRUE(sim.has_value());
  EXPECT_EQ(sim->pending, 1000u);
  EXPECT_EQ(sim->updates.size(), kMaxAptUpdatesKept);

  std::string huge(kMaxAptOutputBytes + 1, 'x');
  sim = ParseAptSimulation(huge);
  ASSERT_FALSE(sim.has_value());
  EXPECT_EQ(sim.error().code(), ErrorCode::kPayloadTooLarge);

  // Deeply nested brackets never recurse; an unbalanced one is an error.
  sim = ParseAptSimulation("Inst x " + std::string(100'000, '[') + "\n");
  ASSERT_FALSE(sim.has_value());
  EXPECT_EQ(sim.error().code(), ErrorCode::kInvalidArgument);
}

TEST(ParseRebootRequiredPackagesTest, DeduplicatesAndSkipsBlankLines) {
  EXPECT_EQ(ParseRebootRequiredPackages(ReadSystemTestdata("reboot_required_pkgs.txt")),
            (std::vector<std::string>{"linux-image-6.1.0-27-amd64", "libc6"}));
  EXPECT_TRUE(ParseRebootRequiredPackages("").empty());
  std::string many;
  for (int i = 0; i < 500; ++i) {
    many += "pkg" + std::to_string(i) + "\n";
  }
  EXPECT_EQ(ParseRebootRequiredPackages(many).size(), 100u);
}

TEST(EvaluateUpdatesTest, SecurityUpdatesAreCritical) {
  UpdatesState st;
  st.apt = ParseAptSimulation(ReadSystemTestdata("apt_dist_upgrade_debian12.txt")).value();
  st.last_update = At("2026-11-22T19:52:51Z");
  auto r = EvaluateUpdates(st, At("2026-11-22T23:00:00Z"), {});
  EXPECT_EQ(r.check, "updates");
  EXPECT_EQ(r.target, "");
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message, "131 updates pending (82 security)");
  ASSERT_NE(FindMetric(r, "updates.pending"), nullptr);
  EXPECT_EQ(FindMetric(r, "updates.pending")->value, 131);
  EXPECT_EQ(FindMetric(r, "updates.pending")->warn, 1);
  EXPECT_EQ(FindMetric(r, "updates.security")->value, 82);
  EXPECT_EQ(FindMetric(r, "updates.security")->crit, 1);
  EXPECT_EQ(FindMetric(r, "updates.days_since_update")->value, 0.1);
  EXPECT_EQ(FindMetric(r, "updates.days_since_update")->unit, "d");
  EXPECT_EQ(FindMetric(r, "updates.reboot_required")->value, 0);
  EXPECT_NE(r.details["security_packages"].find("libgcrypt20"), std::string::npos);
  EXPECT_NE(r.details["packages"].find(" more"), std::string::npos);
  EXPECT_EQ(r.details["last_update"], "2026-11-22T19:52:51.000Z");
}

TEST(EvaluateUpdatesTest, ThresholdsDecide) {
  UpdatesState st;
  st.apt.pending = 3;
  st.last_update = At("2026-11-20T00:00:00Z");
  TimePoint now = At("2026-11-22T00:00:00Z");
  EXPECT_EQ(EvaluateUpdates(st, now, {}).status, CheckStatus::kWarning);
  EXPECT_EQ(EvaluateUpdates(st, now, {.warn_pending = 4}).status, CheckStatus::kOk);
  EXPECT_EQ(EvaluateUpdates(st, now, {.warn_pending = 0}).status, CheckStatus::kOk);
  st.apt.security = 2;
  EXPECT_EQ(EvaluateUpdates(st, now, {.warn_pending = 4, .crit_security = 2}).status,
            CheckStatus::kCritical);
  EXPECT_EQ(EvaluateUpdates(st, now, {.warn_pending = 4, .crit_security = 3}).status,
            CheckStatus::kOk);
  EXPECT_EQ(EvaluateUpdates(st, now, {.warn_pending = 4, .crit_security = 0}).status,
            CheckStatus::kOk);
}

TEST(EvaluateUpdatesTest, UpToDateButStaleListsOrRebootWarn) {
  UpdatesState st;
  TimePoint now = At("2026-11-22T00:00:00Z");
  st.last_update = At("2026-11-01T00:00:00Z");
  auto r = EvaluateUpdates(st, now, {});
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message, "no updates pending; package lists last updated 21 days ago");

  st.last_update = At("2026-11-21T00:00:00Z");
  r = EvaluateUpdates(st, now, {});
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.message, "no updates pending");

  st.reboot_required = true;
  st.reboot_packages = {"linux-image-6.1.0-27-amd64"};
  r = EvaluateUpdates(st, now, {});
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message, "no updates pending; reboot required");
  EXPECT_EQ(r.details["reboot_packages"], "linux-image-6.1.0-27-amd64");
  EXPECT_EQ(FindMetric(r, "updates.reboot_required")->value, 1);

  UpdatesState never;
  r = EvaluateUpdates(never, now, {});
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message, "no updates pending; package lists never updated");
  EXPECT_EQ(FindMetric(r, "updates.days_since_update"), nullptr);
  EXPECT_EQ(EvaluateUpdates(never, now, {.warn_days_since = 0}).status, CheckStatus::kOk);

  // A last update in the future (clock change) counts as fresh.
  st.reboot_required = false;
  st.last_update = At("2026-12-01T00:00:00Z");
  r = EvaluateUpdates(st, now, {});
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(FindMetric(r, "updates.days_since_update")->value, 0);
}

}  // namespace
}  // namespace vigil::checks
