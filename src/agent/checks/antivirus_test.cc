#include "agent/checks/antivirus.h"
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

TEST(ParseClamavDatabaseHeaderTest, CldHeaderWithUnixTime) {
  auto info = ParseClamavDatabaseHeader(ReadSystemTestdata("clamav_daily_cld_header.bin"));
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  EXPECT_EQ(info->build_time, At("2026-11-22T08:23:00Z"));
  EXPECT_EQ(info->version, 27100);
  EXPECT_EQ(info->signatures, 2071234);
  EXPECT_EQ(info->functionality_level, 90);
  EXPECT_EQ(info->builder, "raynman");
}

TEST(ParseClamavDatabaseHeaderTest, FallsBackToTheTextTime) {
  auto info = ParseClamavDatabaseHeader(ReadSystemTestdata("clamav_daily_cvd_textonly.bin"));
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  EXPECT_EQ(info->build_time, At("2023-12-14T12:25:00Z"));  // 07-25 -0500
  EXPECT_EQ(info->version, 27123);
  // An invalid Unix time falls back to the text as well.
  info = ParseClamavDatabaseHeader("ClamAV-VDB:01 Jan 2026 00-00 +0130:1:2:90:X:X:b:12");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->build_time, At("2025-12-31T22:30:00Z"));
}

TEST(ParseClamavDatabaseHeaderTest, RefusesMalformedHeaders) {
  for (std::string_view bad : {
           "", "ClamAV-VDB", "clamav-vdb:22 Nov 2026 08-23 +0000:1:2:90", "ClamAV-VDB:a:b",
           "ClamAV-VDB:22 Nov 2026 08-23 +0000:x:2:90:X:X:b:1795335780",
           "ClamAV-VDB:22 Nov 2026 08-23 +0000:1:-2:90:X:X:b:1795335780",
           "ClamAV-VDB:22 Nov 2026 08-23 +0000:1:2:nine:X:X:b:1795335780",
           "ClamAV-VDB:31 Feb 2026 08-23 +0000:1:2:90",   // no such day, no Unix time
           "ClamAV-VDB:22 Foo 2026 08-23 +0000:1:2:90",   // no such month
           "ClamAV-VDB:22 Nov 2026 25-23 +0000:1:2:90",   // hour 25
           "ClamAV-VDB:22 Nov 2026 08-23 +9900:1:2:90",   // zone
           "ClamAV-VDB:22 Nov 2026 08-23:1:2:90",         // zone missing
           "ClamAV-VDB:::::::: 99999999999999999999999",  // huge numbers
       }) {
    auto info = ParseClamavDatabaseHeader(bad);
    ASSERT_FALSE(info.has_value()) << bad;
    EXPECT_EQ(info.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(ParseClamavDatabaseHeaderTest, OnlyTheHeaderIsRead) {
  // The magic must be in the first 512 bytes; a header with a Unix time beyond them is cut.
  std::string padded(600, ' ');
  padded += "ClamAV-VDB:22 Nov 2026 08-23 +0000:1:2:90:X:X:b:1795335780";
  EXPECT_FALSE(ParseClamavDatabaseHeader(padded).has_value());
  std::string cut =
      "ClamAV-VDB:22 Nov 2026 08-23 +0000:1:2:90:X:X:" + std::string(500, 'b') + ":1000000000";
  auto info = ParseClamavDatabaseHeader(cut);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->build_time, At("2026-11-22T08:23:00Z"));  // the text time
  EXPECT_LE(info->builder.size(), 70u);
  // Binary junk after the header and NUL padding.
  std::string junk = "ClamAV-VDB:22 Nov 2026 08-23 +0000:1:2:90:X:X:b:1795335780";
  junk.append(512 - junk.size(), '\0');
  junk += std::string("\x1f\x8b\x08\x00\xff", 5);
  EXPECT_TRUE(ParseClamavDatabaseHeader(junk).has_value());
}

TEST(EvaluateAntivirusTest, NoAntivirus) {
  AntivirusState none;
  auto r = EvaluateAntivirus(none, At("2026-11-22T12:00:00Z"), {});
  EXPECT_EQ(r.check, "antivirus");
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message, "no antivirus present");
  r = EvaluateAntivirus(none, At("2026-11-22T12:00:00Z"), {.required = false});
  EXPECT_EQ(r.status, CheckStatus::kOk);
}

TEST(EvaluateAntivirusTest, SignatureAgeThresholds) {
  AntivirusState st;
  st.present = true;
  st.database_file = "/var/lib/clamav/daily.cld";
  st.database =
      ParseClamavDatabaseHeader(ReadSystemTestdata("clamav_daily_cld_header.bin")).value();
  st.scanner = ServiceState::kRunning;
  st.updater = ServiceState::kRunning;
  auto r = EvaluateAntivirus(st, At("2026-11-22T20:23:00Z"), {});
  EXPECT_EQ(r.target, "clamav");
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.message, "signatures 12 h old (daily 27100)");
  const auto* age = FindMetric(r, "antivirus.signature_age_hours");
  ASSERT_NE(age, nullptr);
  EXPECT_EQ(age->value, 12);
  EXPECT_EQ(age->unit, "h");
  EXPECT_EQ(age->warn, 48);
  EXPECT_EQ(age->crit, 168);
  EXPECT_EQ(FindMetric(r, "antivirus.signatures")->value, 2071234);
  EXPECT_EQ(r.details["build_time"], "2026-11-22T08:23:00.000Z");
  EXPECT_EQ(r.details["scanner"], "running");

  r = EvaluateAntivirus(st, At("2026-11-25T08:23:00Z"), {});
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message, "signatures 3 d old (daily 27100)");
  r = EvaluateAntivirus(st, At("2026-12-02T08:23:00Z"), {});
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message, "signatures 10 d old (daily 27100)");
  r = EvaluateAntivirus(st, At("2026-11-22T09:23:00Z"), {.warn_hours = 1, .crit_hours = 2});
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  // Clock skew.
  r = EvaluateAntivirus(st, At("2026-11-21T08:23:00Z"), {});
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.details["clock_skew"], "true");
}

TEST(EvaluateAntivirusTest, StoppedServicesWarnButMissingOnesDoNot) {
  AntivirusState st;
  st.present = true;
  st.database =
      ParseClamavDatabaseHeader(ReadSystemTestdata("clamav_daily_cld_header.bin")).value();
  st.scanner = ServiceState::kNotInstalled;
  st.updater = ServiceState::kStopped;
  auto r = EvaluateAntivirus(st, At("2026-11-22T10:23:00Z"), {});
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message, "signatures 2 h old (daily 27100); updater (freshclam) not running");
  EXPECT_EQ(r.details["scanner"], "not installed");
  st.updater = ServiceState::kUnknown;
  EXPECT_EQ(EvaluateAntivirus(st, At("2026-11-22T10:23:00Z"), {}).status, CheckStatus::kOk);
}

TEST(EvaluateAntivirusTest, PresentWithoutDatabaseIsCritical) {
  AntivirusState st;
  st.present = true;
  st.database_file = "/var/lib/clamav/daily.cvd";
  st.database_error = "not a ClamAV database (no \"ClamAV-VDB:\" header)";
  auto r = EvaluateAntivirus(st, At("2026-11-22T10:23:00Z"), {.required = false});
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message,
            "ClamAV signatures unreadable: not a ClamAV database (no \"ClamAV-VDB:\" header)");
  st.database_error.clear();
  r = EvaluateAntivirus(st, At("2026-11-22T10:23:00Z"), {});
  EXPECT_EQ(r.message, "ClamAV is installed but has no signature database");
}

}  // namespace
}  // namespace vigil::checks
