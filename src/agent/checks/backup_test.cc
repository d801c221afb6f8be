#include "agent/checks/backup.h"
#include "agent/checks/test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/json.h"

namespace vigil::checks {
namespace {

using namespace vigil::checks::testing;  // NOLINT: test helpers

using proto::CheckStatus;
using std::chrono::hours;
using std::chrono::minutes;

// Outputs recorded from Debian 12's restic 0.14.0 and borgbackup 1.2.4 (see testdata/).
std::string ReadTestdata(const std::string& name) {
#ifdef VIGIL_CHECKS_TESTDATA_DIR
  std::filesystem::path dir = VIGIL_CHECKS_TESTDATA_DIR;
#else
  std::filesystem::path dir = std::filesystem::path(__FILE__).parent_path() / "testdata";
#endif
  std::ifstream in(dir / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing test data " << (dir / name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// --- ParseRfc3339 ---

TEST(ParseRfc3339Test, AcceptsZonesAndFractions) {
  EXPECT_EQ(ToUnixMillis(At("1970-01-01T00:00:00Z")), 0);
  EXPECT_EQ(At("2026-11-20T03:00:01.123456789+01:00"), At("2026-11-20T02:00:01.123Z"));
  EXPECT_EQ(At("2026-11-20T03:00:01-05:30"), At("2026-11-20T08:30:01Z"));
  EXPECT_EQ(At("2026-11-20t03:00:01.5z"), At("2026-11-20T03:00:01.500Z"));
  EXPECT_EQ(At("2026-11-20 03:00:01Z"), At("2026-11-20T03:00:01Z"));
  EXPECT_EQ(At("2016-12-31T23:59:60Z"), At("2016-12-31T23:59:59Z"));  // leap second
}

TEST(ParseRfc3339Test, RefusesInvalidTimes) {
  for (std::string_view bad :
       {"", "2026", "2026-11-20", "2026-11-20T03:00:01", "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z", "2026-11-20T24:00:00Z", "2026-11-20T03:60:00Z",
        "0000-01-01T00:00:00Z", "1899-12-31T23:59:59Z", "99999-01-01T00:00:00Z",
        "2026-11-20T03:00:01.Z", "2026-11-20T03:00:01.1234567890Z", "2026-11-20T03:00:01+1:00",
        "2026-11-20T03:00:01+24:00", "2026-11-20T03:00:01Zjunk", "2026-11-20T03:00:01 UTC",
        "２026-11-20T03:00:01Z", "-2026-11-20T03:00:01Z"}) {
    auto t = ParseRfc3339(bad);
    EXPECT_FALSE(t.has_value()) << bad;
    if (!t) {
      EXPECT_EQ(t.error().code(), ErrorCode::kInvalidArgument);
      EXPECT_TRUE(json::IsValidUtf8(t.error().message()));
    }
  }
  EXPECT_TRUE(ParseRfc3339("9999-12-31T23:59:59.999Z").has_value());
}

TEST(ParseRfc3339Test, DefaultOffsetOnlyForZonelessTimes) {
  auto t = ParseRfc3339("2026-11-20T03:00:01.000000", minutes(60));
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(*t, At("2026-11-20T02:00:01Z"));
  auto z = ParseRfc3339("2026-11-20T03:00:01Z", minutes(60));
  ASSERT_TRUE(z.has_value());
  EXPECT_EQ(*z, At("2026-11-20T03:00:01Z"));
}

// --- restic ---

TEST(ResticTest, ParsesRecordedSnapshots) {
  auto snaps = ParseResticSnapshots(ReadTestdata("backup_restic_snapshots.json"));
  ASSERT_TRUE(snaps.has_value()) << snaps.error().ToString();
  ASSERT_EQ(snaps->size(), 3u);
  const auto& a = (*snaps)[0];
  EXPECT_EQ(a.time, At("2026-11-22T21:16:46.221Z"));
  EXPECT_EQ(a.id, "483e66f3bb9c910b480dfca9d09b93974b19cc6348ded0309bfb1e79c9aa5d49");
  EXPECT_EQ(a.name, "483e66f3");
  EXPECT_EQ(a.hostname, "vigil-test");
  EXPECT_EQ(a.paths, std::vector<std::string>{"/tmp/rrec/data"});
  EXPECT_EQ(a.tags, std::vector<std::string>{"daily"});
  EXPECT_EQ((*snaps)[1].tags, (std::vector<std::string>{"daily", "db"}));
  // Taken with TZ=Europe/Berlin: restic prints local time with an offset (8 fraction digits).
  const auto& c = (*snaps)[2];
  EXPECT_EQ(c.time, At("2026-11-22T21:16:58.686Z"));
  EXPECT_TRUE(c.tags.empty());
  EXPECT_EQ(c.name, "521acd28");
}

TEST(ResticTest, ParsesRecordedEmptyRepository) {
  auto snaps = ParseResticSnapshots(ReadTestdata("backup_restic_empty.json"));
  ASSERT_TRUE(snaps.has_value());
  EXPECT_TRUE(snaps->empty());
  auto r = EvaluateBackup(*snaps, At("2026-11-22T22:00:00Z"), hours(26), hours(48), "restic:/r");
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message, "no snapshots");
  EXPECT_EQ(r.check, "backup");
  EXPECT_EQ(r.target, "restic:/r");
}

TEST(ResticTest, RefusesHostileInput) {
  const std::string_view kTime = R"("time":"2026-11-20T03:00:01Z")";
  auto entry = [&](std::string_view extra) {
    return "[{" + std::string(kTime) + R"(,"id":"abc")" + std::string(extra) + "}]";
  };
  for (const std::string& bad : {
           std::string(""),
           std::string("nul"),
           std::string("[{]"),
           std::string("{}"),
           std::string("\"x\""),
           std::string("42"),
           std::string("[1]"),
           std::string("[null]"),
           std::string("[[]]"),
           std::string(R"([{"id":"abc"}])"),                    // no time
           std::string("[{" + std::string(kTime) + "}]"),       // no id
           std::string(R"([{"time":1763607601,"id":"abc"}])"),  // number
           std::string(R"([{"time":"yesterday","id":"abc"}])"),
           std::string(R"([{"time":"0001-01-01T00:00:00Z","id":"abc"}])"),  // Go zero
           std::string(R"([{"time":"2026-11-20T03:00:01Z","id":7}])"),
           std::string(R"([{"time":"2026-11-20T03:00:01Z","id":""}])"),
           entry(R"(,"paths":"/srv")"),
           entry(R"(,"tags":[1,2])"),
           entry(R"(,"hostname":{})"),
           entry(R"(,"short_id":[])"),
           std::string(R"([{"time":"2026-11-20T03:00:01Z","id":"\ud800"}])"),  // lone surrogate
           std::string("[{\"time\":\"2026-11-20T03:00:01Z\",\"id\":\"\xff\"}]"),
           std::string(100, '[') + std::string(100, ']'),
       }) {
    auto r = ParseResticSnapshots(bad);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_TRUE(json::IsValidUtf8(r.error().message()));
    }
  }
  // Unknown fields and null optional fields are fine.
  auto ok = ParseResticSnapshots(entry(R"(,"tags":null,"future_field":{"a":[1]})"));
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ(ok->size(), 1u);
}

TEST(ResticTest, BoundsSizes) {
  // Too many snapshots.
  std::string many = "[";
  for (size_t i = 0; i <= kMaxSnapshots; ++i) {
    many += R"({"time":"2026-11-20T03:00:01Z","id":"a"},)";
  }
  many.back() = ']';
  auto r = ParseResticSnapshots(many);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  // Too many bytes.
  std::string huge = "[\"" + std::string(kMaxBackupJsonBytes, 'a') + "\"]";
  auto h = ParseResticSnapshots(huge);
  ASSERT_FALSE(h.has_value());
  EXPECT_EQ(h.error().code(), ErrorCode::kPayloadTooLarge);
  // A huge id is refused; many paths are cut to kMaxListItems.
  std::string long_id =
      R"([{"time":"2026-11-20T03:00:01Z","id":")" + std::string(kMaxFieldBytes + 1, 'a') + "\"}]";
  EXPECT_FALSE(ParseResticSnapshots(long_id).has_value());
  std::string paths = R"([{"time":"2026-11-20T03:00:01Z","id":"a","paths":[)";
  for (int i = 0; i < 1000; ++i) {
    paths += "\"/p\",";
  }
  paths.back() = ']';
  paths += "}]";
  auto p = ParseResticSnapshots(paths);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ((*p)[0].paths.size(), kMaxListItems);
}

// --- borg ---

TEST(BorgTest, ParsesRecordedListWithLocalOffset) {
  // Listed with TZ=Europe/Berlin (UTC+1 in November): borg prints local time without a zone.
  auto snaps = ParseBorgList(ReadTestdata("backup_borg_list.json"), minutes(60));
  ASSERT_TRUE(snaps.has_value()) << snaps.error().ToString();
  ASSERT_EQ(snaps->size(), 2u);
  EXPECT_EQ((*snaps)[0].name, "first");
  EXPECT_EQ((*snaps)[0].id, "602a7645ba676e8fc4659497df70590c5cbec8e0c7b25478f6f4cb3a24d70312");
  EXPECT_EQ((*snaps)[0].time, At("2026-11-22T21:17:09Z"));
  EXPECT_EQ((*snaps)[1].name, "vm-2026-11-22T22:17:11");
  EXPECT_EQ((*snaps)[1].time, At("2026-11-22T21:17:11Z"));
  EXPECT_TRUE((*snaps)[1].hostname.empty());

  auto utc = ParseBorgList(ReadTestdata("backup_borg_list.json"), minutes(0));
  ASSERT_TRUE(utc.has_value());
  EXPECT_EQ((*utc)[0].time, At("2026-11-22T22:17:09Z"));
}

TEST(BorgTest, ParsesRecordedEmptyRepository) {
  auto snaps = ParseBorgList(ReadTestdata("backup_borg_list_empty.json"), minutes(0));
  ASSERT_TRUE(snaps.has_value());
  EXPECT_TRUE(snaps->empty());
}

TEST(BorgTest, TimeWithZoneWinsOverOffset) {
  auto snaps = ParseBorgList(
      R"({"archives":[{"name":"a","time":"2026-11-20T03:00:01.000000+02:00"}]})", minutes(60));
  ASSERT_TRUE(snaps.has_value());
  EXPECT_EQ((*snaps)[0].time, At("2026-11-20T01:00:01Z"));
  // Only "start" (older borg) and only "archive" are accepted too.
  auto old = ParseBorgList(R"({"archives":[{"archive":"x","start":"2026-11-20T03:00:01"}]})",
                           minutes(-300));
  ASSERT_TRUE(old.has_value()) << old.error().ToString();
  EXPECT_EQ((*old)[0].time, At("2026-11-20T08:00:01Z"));
  EXPECT_EQ((*old)[0].name, "x");
}

TEST(BorgTest, RefusesHostileInput) {
  for (std::string_view bad : {
           "",
           "[]",
           "{}",
           R"({"archives":{}})",
           R"({"archives":null})",
           R"({"archives":[1]})",
           R"({"archives":[{"name":"a"}]})",
           R"({"archives":[{"time":"2026-11-20T03:00:01"}]})",
           R"({"archives":[{"name":"a","time":"2026-11-20"}]})",
           R"({"archives":[{"name":"a","time":"10000-11-20T03:00:01"}]})",
           R"({"archives":[{"name":"a","time":"1000-11-20T03:00:01"}]})",
           R"({"archives":[{"name":"a","time":true}]})",
           R"({"archives":[{"name":["a"],"time":"2026-11-20T03:00:01"}]})",
           R"({"archives":[{"name":"a","id":5,"time":"2026-11-20T03:00:01"}]})",
       }) {
    auto r = ParseBorgList(bad, minutes(0));
    EXPECT_FALSE(r.has_value()) << bad;
  }
  const std::string good = ReadTestdata("backup_borg_list.json");
  EXPECT_FALSE(ParseBorgList(good, hours(19)).has_value());
  EXPECT_FALSE(ParseBorgList(good, -hours(19)).has_value());
  EXPECT_TRUE(ParseBorgList(good, -hours(12)).has_value());
}

// --- EvaluateBackup ---

std::vector<BackupSnapshot> RecordedRestic() {
  return ParseResticSnapshots(ReadTestdata("backup_restic_snapshots.json"))
      .value_or(std::vector<BackupSnapshot>{});
}

TEST(EvaluateBackupTest, WarningByAgeOfNewest) {
  auto snaps = RecordedRestic();
  ASSERT_EQ(snaps.size(), 3u);
  TimePoint now = At("2026-11-22T21:16:58.686Z") + hours(30);
  auto r = EvaluateBackup(snaps, now, hours(26), hours(48), "restic:/srv/backup");
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message, "newest snapshot 30 h old (2026-11-22 21:16 UTC)");
  EXPECT_EQ(r.target, "restic:/srv/backup");
  const auto* age = FindMetric(r, "backup.age_seconds");
  ASSERT_NE(age, nullptr);
  EXPECT_EQ(age->value, 30 * 3600);
  EXPECT_EQ(age->unit, "s");
  EXPECT_EQ(age->warn, 26 * 3600);
  EXPECT_EQ(age->crit, 48 * 3600);
  const auto* count = FindMetric(r, "backup.snapshots");
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(count->value, 3);
  EXPECT_EQ(r.details.at("newest_name"), "521acd28");
  EXPECT_EQ(r.details.at("newest_time"), "2026-11-22T21:16:58.686Z");
  EXPECT_EQ(r.details.at("hostname"), "vigil-test");
}

TEST(EvaluateBackupTest, OkAndCritical) {
  auto snaps = RecordedRestic();
  TimePoint newest = At("2026-11-22T21:16:58.686Z");
  auto ok = EvaluateBackup(snaps, newest + minutes(45), hours(26), hours(48), "r");
  EXPECT_EQ(ok.status, CheckStatus::kOk);
  EXPECT_EQ(ok.message, "newest snapshot 45 min old (2026-11-22 21:16 UTC)");
  auto crit = EvaluateBackup(snaps, newest + hours(24 * 9), hours(26), hours(48), "r");
  EXPECT_EQ(crit.status, CheckStatus::kCritical);
  EXPECT_EQ(crit.message, "newest snapshot 9 d old (2026-11-22 21:16 UTC)");
  auto edge = EvaluateBackup(snaps, newest + hours(48), hours(26), hours(48), "r");
  EXPECT_EQ(edge.status, CheckStatus::kCritical);
  // Order does not matter: the newest is found wherever it is.
  std::reverse(snaps.begin(), snaps.end());
  auto rev = EvaluateBackup(snaps, newest + minutes(45), hours(26), hours(48), "r");
  EXPECT_EQ(rev.message, ok.message);
}

TEST(EvaluateBackupTest, FutureSnapshotIsClockSkewWarning) {
  auto snaps = RecordedRestic();
  TimePoint newest = At("2026-11-22T21:16:58.686Z");
  auto r = EvaluateBackup(snaps, newest - hours(3), hours(26), hours(48), "r");
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_NE(r.message.find("in the future"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("clock skew"), std::string::npos) << r.message;
  EXPECT_EQ(r.details.at("clock_skew"), "true");
  EXPECT_LT(FindMetric(r, "backup.age_seconds")->value, 0);
  // Within the tolerance it counts as fresh.
  auto near = EvaluateBackup(snaps, newest - minutes(1), hours(26), hours(48), "r");
  EXPECT_EQ(near.status, CheckStatus::kOk);
}

// --- ClassifyBackupToolError on recorded stderr ---

TEST(ClassifyTest, RecordedResticFailures) {
  auto wrong = ClassifyBackupToolError(
      "restic", 1, ReadTestdata("backup_restic_wrong_password.txt"), "restic:/r");
  EXPECT_EQ(wrong.status, CheckStatus::kCritical);
  EXPECT_EQ(wrong.message, "restic: wrong repository password (no key found for it)");
  EXPECT_EQ(wrong.details.at("stderr"), "Fatal: wrong password or no key found");
  EXPECT_EQ(wrong.details.at("exit_code"), "1");

  auto missing = ClassifyBackupToolError(
      "restic", 1, ReadTestdata("backup_restic_missing_repo.txt"), "restic:/r");
  EXPECT_EQ(missing.status, CheckStatus::kCritical);
  EXPECT_EQ(missing.message, "restic: repository not found (missing, unmounted or wrong path)");

  auto locked =
      ClassifyBackupToolError("restic", 1, ReadTestdata("backup_restic_locked.txt"), "restic:/r");
  EXPECT_EQ(locked.status, CheckStatus::kWarning);
  EXPECT_EQ(locked.message, "restic: repository is locked by another process");
}

TEST(ClassifyTest, RecordedBorgFailures) {
  auto wrong = ClassifyBackupToolError("borg", 2, ReadTestdata("backup_borg_wrong_passphrase.txt"),
                                       "borg:/r");
  EXPECT_EQ(wrong.status, CheckStatus::kCritical);
  EXPECT_EQ(wrong.message, "borg: wrong repository password (no key found for it)");
  auto missing =
      ClassifyBackupToolError("borg", 2, ReadTestdata("backup_borg_missing_repo.txt"), "borg:/r");
  EXPECT_EQ(missing.status, CheckStatus::kCritical);
  EXPECT_EQ(missing.message, "borg: repository not found (missing, unmounted or wrong path)");
  auto locked =
      ClassifyBackupToolError("borg", 2, ReadTestdata("backup_borg_locked.txt"), "borg:/r");
  EXPECT_EQ(locked.status, CheckStatus::kWarning);
}

TEST(ClassifyTest, NewerVersionsAndUnknownErrors) {
  // restic >= 0.16 wording and restic 0.17 exit codes (not recorded: Debian 12 ships 0.14).
  EXPECT_EQ(ClassifyBackupToolError("restic", 1,
                                    "Fatal: repository does not exist: unable to open config "
                                    "file: stat /x/config: no such file or directory\n",
                                    "")
                .status,
            CheckStatus::kCritical);
  EXPECT_EQ(ClassifyBackupToolError("restic", 12, "", "").status, CheckStatus::kCritical);
  EXPECT_EQ(ClassifyBackupToolError("restic", 11, "", "").status, CheckStatus::kWarning);

  auto other = ClassifyBackupToolError("restic", 1, "\n\n  Fatal: disk full\nmore\n", "");
  EXPECT_EQ(other.status, CheckStatus::kUnknown);
  EXPECT_EQ(other.message, "restic failed (exit code 1): Fatal: disk full");
  auto empty = ClassifyBackupToolError("borg", 2, "", "");
  EXPECT_EQ(empty.status, CheckStatus::kUnknown);
  EXPECT_EQ(empty.message, "borg failed with exit code 2");
  EXPECT_EQ(empty.details.count("stderr"), 0u);
}

TEST(ClassifyTest, HostileStderrGivesValidUtf8) {
  std::string junk =
      "\xff\xfe\x01\x1b[31mFatal: \xc3\x28 bad \xe2\x82 utf8\r\n" + std::string(1 << 20, 'x');
  auto r = ClassifyBackupToolError("re\xffstic", 1, junk, "t");
  EXPECT_EQ(r.status, CheckStatus::kUnknown);
  EXPECT_TRUE(json::IsValidUtf8(r.message));
  EXPECT_LE(r.message.size(), 400u);
  EXPECT_EQ(r.message.find('\x1b'), std::string::npos);
  EXPECT_TRUE(json::IsValidUtf8(r.details.at("stderr")));
  EXPECT_LE(r.details.at("stderr").size(), 2100u);
}

// --- ParseMarkerFile ---

TEST(MarkerTest, TimeUnixSecondsOrMtime) {
  TimePoint mtime = At("2026-11-21T00:00:00Z");
  EXPECT_EQ(*ParseMarkerFile("2026-11-20T03:00:01+01:00\n", mtime), At("2026-11-20T02:00:01Z"));
  EXPECT_EQ(*ParseMarkerFile("\xEF\xBB\xBF 2026-11-20T03:00:01Z\r\nok\n", mtime),
            At("2026-11-20T03:00:01Z"));
  EXPECT_EQ(*ParseMarkerFile("1763607601\n", mtime), At("2025-11-20T03:00:01Z"));
  EXPECT_EQ(*ParseMarkerFile("1763607601.25", mtime), At("2025-11-20T03:00:01.250Z"));
  EXPECT_EQ(*ParseMarkerFile("", mtime), mtime);
  EXPECT_EQ(*ParseMarkerFile("\n\n", mtime), mtime);
  EXPECT_EQ(*ParseMarkerFile("backup ok\n", mtime), mtime);
  EXPECT_EQ(*ParseMarkerFile(std::string(10000, '7'), mtime), mtime);  // not a time: free text
}

TEST(MarkerTest, BrokenTimesAreErrors) {
  TimePoint mtime = At("2026-11-21T00:00:00Z");
  for (std::string_view bad :
       {"2026-13-20T03:00:01Z", "2026-11-20T03:00:01", "2026-11-20", "99999999999999999999",
        "253402300800", "1763607601.", "1763607601.x"}) {
    auto r = ParseMarkerFile(bad, mtime);
    EXPECT_FALSE(r.has_value()) << bad;
  }
}

}  // namespace
}  // namespace vigil::checks
