#include "domain/devices.h"

#include <gtest/gtest.h>

namespace vigil::domain {
namespace {

using std::chrono::seconds;

proto::Observation Obs(std::string check, std::string target, int64_t ms,
                       proto::CheckStatus status) {
  proto::Observation o;
  o.observed_at = FromUnixMillis(ms);
  o.result.check = std::move(check);
  o.result.target = std::move(target);
  o.result.status = status;
  return o;
}

TEST(Presence, ConnectedRecentStaleNeverRevoked) {
  const TimePoint now = FromUnixMillis(1'000'000);
  Device d;
  EXPECT_EQ(PresenceAt(d, now, seconds(300)), Presence::kNever);
  d.last_seen_at = now - seconds(299);
  EXPECT_EQ(PresenceAt(d, now, seconds(300)), Presence::kOnline);
  d.last_seen_at = now - seconds(301);
  EXPECT_EQ(PresenceAt(d, now, seconds(300)), Presence::kOffline);
  d.connected = true;
  EXPECT_EQ(PresenceAt(d, now, seconds(300)), Presence::kOnline);
  d.revoked_at = now;
  EXPECT_EQ(PresenceAt(d, now, seconds(300)), Presence::kOffline);
}

TEST(EnrollmentTokenRules, UsableOnlyBeforeExpiryWithUsesLeftAndNotRevoked) {
  EnrollmentToken t;
  t.max_uses = 2;
  t.expires_at = FromUnixMillis(2000);
  EXPECT_TRUE(t.UsableAt(FromUnixMillis(1999)));
  EXPECT_FALSE(t.UsableAt(FromUnixMillis(2000)));
  t.uses = 2;
  EXPECT_FALSE(t.UsableAt(FromUnixMillis(1000)));
  t.uses = 1;
  t.revoked_at = FromUnixMillis(500);
  EXPECT_FALSE(t.UsableAt(FromUnixMillis(1000)));
}

TEST(NewestPerTarget, KeepsTheNewestObservationOfEachCheckAndTarget) {
  std::vector<proto::Observation> obs = {
      Obs("disk", "/", 100, proto::CheckStatus::kOk),
      Obs("disk", "/var", 100, proto::CheckStatus::kOk),
      Obs("disk", "/", 300, proto::CheckStatus::kCritical),
      Obs("disk", "/", 200, proto::CheckStatus::kWarning),
      Obs("cpu", "", 50, proto::CheckStatus::kOk),
      Obs("cpu", "", 50, proto::CheckStatus::kWarning),  // tie: the later one wins
  };
  auto newest = NewestPerTarget(obs);
  ASSERT_EQ(newest.size(), 3u);
  std::map<std::string, proto::CheckStatus> got;
  for (const auto* o : newest) {
    got[o->result.check + ":" + o->result.target] = o->result.status;
  }
  EXPECT_EQ(got["disk:/"], proto::CheckStatus::kCritical);
  EXPECT_EQ(got["disk:/var"], proto::CheckStatus::kOk);
  EXPECT_EQ(got["cpu:"], proto::CheckStatus::kWarning);
}

TEST(MetricsJson, WritesOnlyThePresentThresholds) {
  proto::Metric m{"disk./.used_percent", 91.5, "%", 85.0, 95.0, std::nullopt, std::nullopt};
  EXPECT_EQ(MetricsJson({m}),
            R"([{"name":"disk./.used_percent","value":91.5,"unit":"%","warn":85.0,"crit":95.0}])");
  EXPECT_EQ(MetricsJson({}), "[]");
  EXPECT_EQ(DetailsJson({{"model", "ST3500418AS"}}), R"({"model":"ST3500418AS"})");
  EXPECT_EQ(DetailsJson({{"a", "x\"y\n"}, {"b", ""}}), R"({"a":"x\"y\n","b":""})");
}

TEST(HistoryEntries, RoundTripAndFilterBySeries) {
  proto::Observation a;
  a.observed_at = FromUnixMillis(1'700'000'000'123);
  a.result.check = "disk";
  a.result.target = "/var \"logs\"";
  a.result.status = proto::CheckStatus::kWarning;
  a.result.message = "91.5% used\nof 50 GB";
  a.result.metrics = {{"disk./.used_percent", 91.5, "%", 85.0, 95.0, 0.0, 100.0},
                      {"disk./.inodes_used_percent", 3, "%", std::nullopt, std::nullopt,
                       std::nullopt, std::nullopt}};
  proto::Observation b = a;
  b.result.check = "cpu";
  b.result.target = "";
  b.result.status = proto::CheckStatus::kOk;
  b.result.metrics = {};
  std::string text = HistoryEntriesJson({a, b});
  // Units and thresholds are not kept.
  EXPECT_EQ(text.find("\"%\""), std::string::npos) << text;

  auto all = ParseHistoryEntries(text);
  ASSERT_TRUE(all.has_value()) << all.status().ToString();
  ASSERT_EQ(all->size(), 2u);
  const HistoryEntry& e = (*all)[0];
  EXPECT_EQ(e.check, "disk");
  EXPECT_EQ(e.target, "/var \"logs\"");
  EXPECT_EQ(e.point.at, a.observed_at);
  EXPECT_EQ(e.point.status, proto::CheckStatus::kWarning);
  EXPECT_EQ(e.point.message, a.result.message);
  ASSERT_EQ(e.point.values.size(), 2u);
  EXPECT_EQ(e.point.values[0], (std::pair<std::string, double>("disk./.used_percent", 91.5)));
  EXPECT_EQ(e.point.values[1].second, 3.0);
  EXPECT_TRUE((*all)[1].point.values.empty());

  auto cpu = ParseHistoryEntries(text, std::pair<std::string_view, std::string_view>("cpu", ""));
  ASSERT_TRUE(cpu.has_value());
  ASSERT_EQ(cpu->size(), 1u);
  EXPECT_EQ((*cpu)[0].check, "cpu");
  EXPECT_TRUE(ParseHistoryEntries("[]").has_value());

  // Anything it did not write is refused.
  for (std::string_view bad :
       {"", "{}", "[1]", "[[\"cpu\"]]", "[[\"cpu\",\"\",1,0,\"m\",{}, 7]]",
        "[[\"cpu\",\"\",1.5,0,\"m\",{}]]", "[[\"cpu\",\"\",1,9,\"m\",{}]]",
        "[[\"cpu\",\"\",1,0,\"m\",{\"x\":\"1\"}]]", "[[\"cpu\",\"\",1,0,\"m\",{}]] x",
        "[[\"cpu\",\"\",1,0,\"m\",[]]]"}) {
    EXPECT_FALSE(ParseHistoryEntries(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace vigil::domain
