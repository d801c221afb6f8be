#include "proto/batch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/json.h"

namespace vigil::proto {
namespace {

using namespace std::chrono_literals;
using json::Json;

// 2026-11-22T12:00:00Z
const TimePoint kNow =
    TimePoint(std::chrono::sys_days{std::chrono::year{2026} / std::chrono::November / 22}) + 12h;

std::vector<std::string> ErrorFields(const Result<Batch>& r) {
  std::vector<std::string> out;
  if (!r.has_value()) {
    for (const auto& e : r.error().field_errors()) {
      out.push_back(e.field);
    }
  }
  return out;
}

bool HasField(const Result<Batch>& r, const std::string& field) {
  auto f = ErrorFields(r);
  return std::find(f.begin(), f.end(), field) != f.end();
}

void ExpectSameResult(const CheckResult& a, const CheckResult& b) {
  EXPECT_EQ(a.check, b.check);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.metrics, b.metrics);
  EXPECT_EQ(a.details, b.details);
}

void ExpectSameBatch(const Batch& a, const Batch& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.agent_version, b.agent_version);
  EXPECT_EQ(a.sequence, b.sequence);
  EXPECT_EQ(a.sent_at, b.sent_at);
  EXPECT_EQ(a.gaps, b.gaps);
  ASSERT_EQ(a.observations.size(), b.observations.size());
  for (size_t i = 0; i < a.observations.size(); ++i) {
    EXPECT_EQ(a.observations[i].observed_at, b.observations[i].observed_at);
    ExpectSameResult(a.observations[i].result, b.observations[i].result);
  }
}

Batch FullBatch() {
  Batch b;
  b.agent_version = "1.4.2-rc1";
  b.sequence = 42;
  b.sent_at = kNow - 1500ms;
  b.gaps = {{17, 20}, {30, 30}};

  Observation smart;
  smart.observed_at = kNow - 1min + 123ms;
  smart.result.check = "smart";
  smart.result.target = "/dev/sda";
  smart.result.status = CheckStatus::kWarning;
  smart.result.message = "Neu zugewiesene Sektoren: 304 — prüfen ✓ 😀\nzweite Zeile";
  smart.result.metrics = {
      {.name = "smart.reallocated_sectors", .value = 304, .unit = "", .warn = 1, .min = 0},
      {.name = "disk./.used_percent",
       .value = 95.25,
       .unit = "%",
       .warn = 90,
       .crit = 97.5,
       .min = 0,
       .max = 100},
      {.name = "temp.c", .value = -0.5, .unit = "°C"},
      {.name = "bytes", .value = 1.5e15, .unit = "B", .max = 1e300},
  };
  smart.result.details = {{"model", "ST3500418AS"}, {"serial", "Z2AX — 日本語"}, {"empty", ""}};

  Observation backup;
  backup.observed_at = kNow - 29 * 24h;
  backup.result.check = "backup";
  backup.result.target = "restic:/srv/backup";
  backup.result.status = CheckStatus::kCritical;
  backup.result.message = "no snapshot for 26 h";

  Observation host;
  host.observed_at = kNow + 59min;
  host.result.check = "heartbeat";
  host.result.status = CheckStatus::kOk;

  Observation unknown;
  unknown.observed_at = kNow;
  unknown.result.check = "plugin";
  unknown.result.target = "C:\\Program Files\\x";
  unknown.result.status = CheckStatus::kUnknown;

  b.observations = {smart, backup, host, unknown};
  return b;
}

TEST(BatchTest, RoundTripsAFullBatch) {
  Batch b = FullBatch();
  std::string text = EncodeBatch(b);
  auto decoded = DecodeBatch(text, kNow);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  ExpectSameBatch(*decoded, b);
  // Encoding is deterministic and stable across a round trip.
  EXPECT_EQ(EncodeBatch(*decoded), text);
}

TEST(BatchTest, EncodesTheDocumentedShape) {
  Batch b;
  b.agent_version = "1.0";
  b.sequence = 7;
  b.sent_at = kNow;
  Observation o;
  o.observed_at = kNow - 3s;
  o.result.check = "disk";
  o.result.status = CheckStatus::kWarning;
  o.result.metrics = {{.name = "used", .value = 91, .unit = "%", .warn = 90}};
  b.observations = {o};
  b.gaps = {{3, 5}};
  auto j = *json::Parse(EncodeBatch(b));
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["sequence"], 7);
  EXPECT_EQ(j["sent_at"], "2026-11-22T12:00:00.000Z");
  EXPECT_EQ(j["observations"][0]["observed_at"], "2026-11-22T11:59:57.000Z");
  EXPECT_EQ(j["observations"][0]["result"]["status"], "warning");
  const Json& m = j["observations"][0]["result"]["metrics"][0];
  EXPECT_EQ(m["name"], "used");
  EXPECT_EQ(m["value"], 91.0);
  EXPECT_EQ(m["warn"], 90.0);
  EXPECT_TRUE(m["crit"].is_null());
  EXPECT_TRUE(m["min"].is_null());
  EXPECT_TRUE(m["max"].is_null());
  EXPECT_EQ(j["gaps"][0]["first_sequence"], 3);
  EXPECT_EQ(j["gaps"][0]["last_sequence"], 5);
}

TEST(BatchTest, DecodesAHandWrittenSample) {
  const std::string sample = R"({
    "version": 1,
    "agent_version": "1.4.2",
    "sequence": 18446744073709551615,
    "sent_at": "2026-11-22T13:00:00.5+01:00",
    "observations": [
      {"observed_at": "2026-11-22T11:59:03Z",
       "result": {"check": "smart", "target": "/dev/sda", "status": "critical",
                  "message": "reallocated sectors grew to 304",
                  "metrics": [{"name": "smart.reallocated_sectors", "value": 304,
                               "unit": "", "warn": 1, "crit": null},
                              {"name": "smart.temp", "value": 41.5}],
                  "details": {"model": "ST3500418AS"}}},
      {"observed_at": "2026-11-22t06:29:03.123456789-05:30",
       "result": {"check": "heartbeat", "status": "ok"}}
    ],
    "gaps": [{"first_sequence": 1, "last_sequence": 9}]
  })";
  auto r = DecodeBatch(sample, kNow);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->agent_version, "1.4.2");
  EXPECT_EQ(r->sequence, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(r->sent_at, kNow + 500ms);
  ASSERT_EQ(r->observations.size(), 2u);
  const auto& smart = r->observations[0];
  EXPECT_EQ(smart.observed_at, kNow - 57s);
  EXPECT_EQ(smart.result.check, "smart");
  EXPECT_EQ(smart.result.target, "/dev/sda");
  EXPECT_EQ(smart.result.status, CheckStatus::kCritical);
  EXPECT_EQ(smart.result.message, "reallocated sectors grew to 304");
  ASSERT_EQ(smart.result.metrics.size(), 2u);
  EXPECT_EQ(smart.result.metrics[0],
            (Metric{.name = "smart.reallocated_sectors", .value = 304, .unit = "", .warn = 1}));
  EXPECT_EQ(smart.result.metrics[1], (Metric{.name = "smart.temp", .value = 41.5}));
  EXPECT_EQ(smart.result.details.at("model"), "ST3500418AS");
  const auto& hb = r->observations[1];
  EXPECT_EQ(hb.observed_at, kNow - 57s + 123ms);
  EXPECT_EQ(hb.result.status, CheckStatus::kOk);
  EXPECT_TRUE(hb.result.target.empty());
  EXPECT_TRUE(hb.result.metrics.empty());
  EXPECT_TRUE(hb.result.details.empty());
  EXPECT_EQ(r->gaps, (std::vector<Gap>{{1, 9}}));
}

// The encoding of FullBatch() as a JSON tree, to be broken one field at a time.
Json Base() { return *json::Parse(EncodeBatch(FullBatch())); }

struct Refusal {
  std::string what;
  std::function<void(Json&)> mutate;
  std::string field;
};

TEST(BatchTest, RefusesEachWrongFieldByPath) {
  const std::string o0 = "observations[0]";
  const std::string r0 = "observations[0].result";
  const std::string m0 = "observations[0].result.metrics[0]";
  auto str = [](std::string s) { return Json(std::move(s)); };
  std::vector<Refusal> cases = {
      // Envelope.
      {"version 2", [](Json& j) { j["version"] = 2; }, "version"},
      {"version string", [](Json& j) { j["version"] = "1"; }, "version"},
      {"version missing", [](Json& j) { j.erase("version"); }, "version"},
      {"agent_version number", [](Json& j) { j["agent_version"] = 5; }, "agent_version"},
      {"agent_version empty", [&](Json& j) { j["agent_version"] = str(""); }, "agent_version"},
      {"agent_version missing", [](Json& j) { j.erase("agent_version"); }, "agent_version"},
      {"sequence zero", [](Json& j) { j["sequence"] = 0; }, "sequence"},
      {"sequence negative", [](Json& j) { j["sequence"] = -1; }, "sequence"},
      {"sequence fraction", [](Json& j) { j["sequence"] = 1.5; }, "sequence"},
      {"sequence string", [](Json& j) { j["sequence"] = "42"; }, "sequence"},
      {"sequence null", [](Json& j) { j["sequence"] = nullptr; }, "sequence"},
      {"sequence missing", [](Json& j) { j.erase("sequence"); }, "sequence"},
      {"unknown field", [](Json& j) { j["sequnce"] = 1; }, "sequnce"},
      {"sent_at missing", [](Json& j) { j.erase("sent_at"); }, "sent_at"},
      {"sent_at number", [](Json& j) { j["sent_at"] = 1700000000; }, "sent_at"},
      // Timestamps: absurd or malformed.
      {"1970", [&](Json& j) { j["sent_at"] = str("1970-01-01T00:00:00Z"); }, "sent_at"},
      {"9999", [&](Json& j) { j["sent_at"] = str("9999-12-31T23:59:59.999Z"); }, "sent_at"},
      {"2 h ahead", [&](Json& j) { j["sent_at"] = str("2026-11-22T14:00:00Z"); }, "sent_at"},
      {"31 days ago", [&](Json& j) { j["sent_at"] = str("2026-10-22T11:59:59Z"); }, "sent_at"},
      {"month 13", [&](Json& j) { j["sent_at"] = str("2026-13-01T00:00:00Z"); }, "sent_at"},
      {"month 0", [&](Json& j) { j["sent_at"] = str("2026-00-01T00:00:00Z"); }, "sent_at"},
      {"Feb 30", [&](Json& j) { j["sent_at"] = str("2026-02-30T00:00:00Z"); }, "sent_at"},
      {"hour 24", [&](Json& j) { j["sent_at"] = str("2026-11-22T24:00:00Z"); }, "sent_at"},
      {"minute 60", [&](Json& j) { j["sent_at"] = str("2026-11-22T11:60:00Z"); }, "sent_at"},
      {"no zone", [&](Json& j) { j["sent_at"] = str("2026-11-22T12:00:00"); }, "sent_at"},
      {"empty fraction", [&](Json& j) { j["sent_at"] = str("2026-11-22T12:00:00.Z"); }, "sent_at"},
      {"10 digit fraction", [&](Json& j) { j["sent_at"] = str("2026-11-22T12:00:00.1234567890Z"); },
       "sent_at"},
      {"offset no colon", [&](Json& j) { j["sent_at"] = str("2026-11-22T13:00:00+0100"); },
       "sent_at"},
      {"offset 24h", [&](Json& j) { j["sent_at"] = str("2026-11-22T12:00:00+24:00"); }, "sent_at"},
      {"trailing", [&](Json& j) { j["sent_at"] = str("2026-11-22T12:00:00Zx"); }, "sent_at"},
      {"date only", [&](Json& j) { j["sent_at"] = str("2026-11-22"); }, "sent_at"},
      {"unix", [&](Json& j) { j["sent_at"] = str("1763812800"); }, "sent_at"},
      {"signed year", [&](Json& j) { j["sent_at"] = str("+2026-11-22T12:00:00Z"); }, "sent_at"},
      {"observed_at 2h ahead",
       [&](Json& j) { j["observations"][0]["observed_at"] = str("2026-11-22T14:00:00.001Z"); },
       o0 + ".observed_at"},
      // Observations.
      {"observations missing", [](Json& j) { j.erase("observations"); }, "observations"},
      {"observations object", [](Json& j) { j["observations"] = Json::object(); }, "observations"},
      {"observation number", [](Json& j) { j["observations"][0] = 1; }, o0},
      {"observed_at missing", [](Json& j) { j["observations"][0].erase("observed_at"); },
       o0 + ".observed_at"},
      {"observation extra", [](Json& j) { j["observations"][0]["device"] = "x"; }, o0 + ".device"},
      {"result missing", [](Json& j) { j["observations"][0].erase("result"); }, o0 + ".result"},
      {"result string", [](Json& j) { j["observations"][0]["result"] = "ok"; }, r0},
      {"result null", [](Json& j) { j["observations"][0]["result"] = nullptr; }, r0},
      {"check missing", [](Json& j) { j["observations"][0]["result"].erase("check"); },
       r0 + ".check"},
      {"check number", [](Json& j) { j["observations"][0]["result"]["check"] = 5; }, r0 + ".check"},
      {"check space", [](Json& j) { j["observations"][0]["result"]["check"] = "sm art"; },
       r0 + ".check"},
      {"check control",
       [](Json& j) {
         j["observations"][0]["result"]["check"] =
             "sm\x01"
             "art";
       },
       r0 + ".check"},
      {"check newline", [](Json& j) { j["observations"][0]["result"]["check"] = "smart\n"; },
       r0 + ".check"},
      {"check unicode", [](Json& j) { j["observations"][0]["result"]["check"] = "smärt"; },
       r0 + ".check"},
      {"check too long",
       [](Json& j) { j["observations"][0]["result"]["check"] = std::string(201, 'a'); },
       r0 + ".check"},
      {"target control", [](Json& j) { j["observations"][0]["result"]["target"] = "/dev/\x1b[2J"; },
       r0 + ".target"},
      {"status unknown word", [](Json& j) { j["observations"][0]["result"]["status"] = "fine"; },
       r0 + ".status"},
      {"status number", [](Json& j) { j["observations"][0]["result"]["status"] = 1; },
       r0 + ".status"},
      {"status missing", [](Json& j) { j["observations"][0]["result"].erase("status"); },
       r0 + ".status"},
      {"message number", [](Json& j) { j["observations"][0]["result"]["message"] = 5; },
       r0 + ".message"},
      {"message control",
       [](Json& j) {
         j["observations"][0]["result"]["message"] =
             "a\x07"
             "b";
       },
       r0 + ".message"},
      {"message too long",
       [](Json& j) { j["observations"][0]["result"]["message"] = std::string(4097, 'x'); },
       r0 + ".message"},
      {"result extra", [](Json& j) { j["observations"][0]["result"]["statuss"] = "ok"; },
       r0 + ".statuss"},
      // Metrics.
      {"metrics object",
       [](Json& j) { j["observations"][0]["result"]["metrics"] = Json::object(); },
       r0 + ".metrics"},
      {"metric number", [](Json& j) { j["observations"][0]["result"]["metrics"][0] = 1; }, m0},
      {"metric value string",
       [](Json& j) { j["observations"][0]["result"]["metrics"][0]["value"] = "1"; }, m0 + ".value"},
      {"metric value null",
       [](Json& j) { j["observations"][0]["result"]["metrics"][0]["value"] = nullptr; },
       m0 + ".value"},
      {"metric value bool",
       [](Json& j) { j["observations"][0]["result"]["metrics"][0]["value"] = true; },
       m0 + ".value"},
      {"metric value missing",
       [](Json& j) { j["observations"][0]["result"]["metrics"][0].erase("value"); }, m0 + ".value"},
      {"metric warn string",
       [](Json& j) { j["observations"][0]["result"]["metrics"][0]["warn"] = "90"; }, m0 + ".warn"},
      {"metric max array",
       [](Json& j) { j["observations"][0]["result"]["metrics"][0]["max"] = Json::array(); },
       m0 + ".max"},
      {"metric name space",
       [](Json& j) { j["observations"][0]["result"]["metrics"][0]["name"] = "a b"; }, m0 + ".name"},
      {"metric name tab",
       [](Json& j) { j["observations"][0]["result"]["metrics"][0]["name"] = "a\tb"; },
       m0 + ".name"},
      {"metric name empty",
       [](Json& j) { j["observations"][0]["result"]["metrics"][0]["name"] = ""; }, m0 + ".name"},
      {"metric name too long",
       [](Json& j) {
         j["observations"][0]["result"]["metrics"][0]["name"] = std::string(201, 'm');
       },
       m0 + ".name"},
      {"metric unit number",
       [](Json& j) { j["observations"][0]["result"]["metrics"][0]["unit"] = 5; }, m0 + ".unit"},
      {"metric extra", [](Json& j) { j["observations"][0]["result"]["metrics"][0]["val"] = 1; },
       m0 + ".val"},
      {"metric duplicate",
       [](Json& j) {
         auto& m = j["observations"][0]["result"]["metrics"];
         m[1]["name"] = m[0]["name"];
       },
       r0 + ".metrics[1].name"},
      // Details.
      {"details array", [](Json& j) { j["observations"][0]["result"]["details"] = Json::array(); },
       r0 + ".details"},
      {"detail number", [](Json& j) { j["observations"][0]["result"]["details"]["model"] = 5; },
       r0 + ".details.model"},
      {"detail control",
       [](Json& j) { j["observations"][0]["result"]["details"]["model"] = "x\x01"; },
       r0 + ".details.model"},
      {"detail key space",
       [](Json& j) { j["observations"][0]["result"]["details"]["bad key"] = "x"; },
       r0 + ".details.bad key"},
      {"detail key control",
       [](Json& j) { j["observations"][0]["result"]["details"]["k\x01"] = "x"; },
       r0 + ".details.k "},
      {"detail too long",
       [](Json& j) { j["observations"][0]["result"]["details"]["model"] = std::string(4097, 'd'); },
       r0 + ".details.model"},
      // Gaps.
      {"gaps string", [](Json& j) { j["gaps"] = "none"; }, "gaps"},
      {"gap number", [](Json& j) { j["gaps"][0] = 17; }, "gaps[0]"},
      {"gap zero", [](Json& j) { j["gaps"][0]["first_sequence"] = 0; }, "gaps[0].first_sequence"},
      {"gap reversed", [](Json& j) { j["gaps"][0]["last_sequence"] = 16; },
       "gaps[0].last_sequence"},
      {"gap not before", [](Json& j) { j["gaps"][1]["last_sequence"] = 42; },
       "gaps[1].last_sequence"},
      {"gap missing last", [](Json& j) { j["gaps"][1].erase("last_sequence"); },
       "gaps[1].last_sequence"},
      {"gap extra", [](Json& j) { j["gaps"][1]["count"] = 1; }, "gaps[1].count"},
  };
  for (const auto& c : cases) {
    Json j = Base();
    c.mutate(j);
    auto r = DecodeBatch(j.dump(), kNow);
    ASSERT_FALSE(r.has_value()) << c.what;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << c.what;
    EXPECT_TRUE(HasField(r, c.field))
        << c.what << ": expected " << c.field << ", got " << r.error().ToString();
  }
}

// Cases that need raw text: numbers nlohmann would not produce, and the exact 2^64 boundary.
TEST(BatchTest, RefusesHostileNumbers) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string text = EncodeBatch(FullBatch());
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  // 2^64 does not fit: nlohmann reads it as a float.
  auto overflow = DecodeBatch(with("\"sequence\":42", "\"sequence\":18446744073709551616"), kNow);
  EXPECT_EQ(ErrorFields(overflow), std::vector<std::string>{"sequence"});
  auto huge = DecodeBatch(with("\"sequence\":42", "\"sequence\":1e30"), kNow);
  EXPECT_EQ(ErrorFields(huge), std::vector<std::string>{"sequence"});
  // 1e400 overflows a double: nlohmann refuses it as malformed JSON.
  auto inf = DecodeBatch(with("\"value\":304.0", "\"value\":1e400"), kNow);
  ASSERT_FALSE(inf.has_value());
  EXPECT_EQ(inf.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(inf.error().message().rfind("body is not valid JSON", 0), 0u) << inf.error().ToString();
  auto neg_inf = DecodeBatch(with("\"warn\":1.0", "\"warn\":-1e999"), kNow);
  ASSERT_FALSE(neg_inf.has_value());
  EXPECT_EQ(neg_inf.error().code(), ErrorCode::kInvalidArgument);
  // NaN and Infinity are not JSON.
  for (const char* bad : {"NaN", "Infinity", "-Infinity", "nan", "0x10", "+1", ".5", "1."}) {
    auto r = DecodeBatch(with("\"value\":304.0", std::string("\"value\":") + bad), kNow);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  // Integers and large finite numbers are fine as metric values.
  auto big = DecodeBatch(with("\"value\":304.0", "\"value\":99999999999999999999999"), kNow);
  ASSERT_TRUE(big.has_value()) << big.error().ToString();
  EXPECT_EQ(big->observations[0].result.metrics[0].value, 1e23);
  auto max = DecodeBatch(with("\"value\":304.0", "\"value\":-1.7976931348623157e308"), kNow);
  ASSERT_TRUE(max.has_value());
}

TEST(BatchTest, RefusesMalformedOversizedAndInvalidUtf8Bodies) {
  for (const char* bad : {"", "{", "{\"version\":1,}", "{} {}", "[]", "null", "42", "\"batch\""}) {
    auto r = DecodeBatch(bad, kNow);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(HasField(DecodeBatch("[]", kNow), "(body)"));

  std::string text = EncodeBatch(FullBatch());
  auto small = DecodeBatch(text, kNow, {.max_bytes = text.size() - 1});
  ASSERT_FALSE(small.has_value());
  EXPECT_EQ(small.error().code(), ErrorCode::kPayloadTooLarge);
  EXPECT_TRUE(DecodeBatch(text, kNow, {.max_bytes = text.size()}).has_value());
  auto huge = DecodeBatch(std::string(5 << 20, ' '), kNow);
  EXPECT_EQ(huge.error().code(), ErrorCode::kPayloadTooLarge);

  // Deep nesting is refused before nlohmann recurses.
  auto deep = DecodeBatch(std::string(100000, '[') + std::string(100000, ']'), kNow);
  EXPECT_EQ(deep.error().code(), ErrorCode::kInvalidArgument);

  // Invalid UTF-8 anywhere (raw bytes or a lone surrogate escape) is refused.
  for (const std::string& bad : {std::string("\xff"), std::string("\xc0\xaf"),
                                 std::string("\xed\xa0\x80"), std::string("\\ud800")}) {
    std::string t = text;
    size_t at = t.find("Neu zugewiesene");
    ASSERT_NE(at, std::string::npos);
    t.insert(at, bad);
    auto r = DecodeBatch(t, kNow);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(BatchTest, RefusesTooManyItems) {
  Batch b = FullBatch();
  std::string text = EncodeBatch(b);
  EXPECT_TRUE(HasField(DecodeBatch(text, kNow, {.max_observations = 3}), "observations"));
  EXPECT_TRUE(DecodeBatch(text, kNow, {.max_observations = 4}).has_value());
  EXPECT_TRUE(HasField(DecodeBatch(text, kNow, {.max_metrics_per_result = 3}),
                       "observations[0].result.metrics"));
  EXPECT_TRUE(HasField(DecodeBatch(text, kNow, {.max_details_per_result = 2}),
                       "observations[0].result.details"));
  EXPECT_TRUE(HasField(DecodeBatch(text, kNow, {.max_gaps = 1}), "gaps"));

  // The defaults: 201 metrics in one result.
  Batch many = FullBatch();
  many.observations.resize(1);
  many.observations[0].result.metrics.clear();
  for (int i = 0; i < 201; ++i) {
    many.observations[0].result.metrics.push_back({.name = "m" + std::to_string(i), .value = 1});
  }
  EXPECT_TRUE(HasField(DecodeBatch(EncodeBatch(many), kNow), "observations[0].result.metrics"));
  many.observations[0].result.metrics.pop_back();
  EXPECT_TRUE(DecodeBatch(EncodeBatch(many), kNow).has_value());

  // 10,001 observations.
  Batch lots = FullBatch();
  lots.observations.assign(10001, FullBatch().observations[2]);
  EXPECT_TRUE(HasField(DecodeBatch(EncodeBatch(lots), kNow), "observations"));
}

TEST(BatchTest, RefusesUnknownChecksWhenTheyAreGiven) {
  std::string text = EncodeBatch(FullBatch());
  std::set<std::string> known = {"smart", "backup", "heartbeat", "plugin"};
  EXPECT_TRUE(DecodeBatch(text, kNow, {}, &known).has_value());
  known.erase("backup");
  auto r = DecodeBatch(text, kNow, {}, &known);
  EXPECT_EQ(ErrorFields(r), std::vector<std::string>{"observations[1].result.check"});
}

TEST(BatchTest, NamesEveryWrongFieldAndBoundsTheList) {
  Json j = Base();
  j["sequence"] = 0;
  j["observations"][1]["result"]["status"] = "bad";
  j["observations"][3]["result"]["metrics"] = {{{"name", "x"}, {"value", "NaN"}}};
  auto r = DecodeBatch(j.dump(), kNow);
  EXPECT_TRUE(HasField(r, "sequence"));
  EXPECT_TRUE(HasField(r, "observations[1].result.status"));
  EXPECT_TRUE(HasField(r, "observations[3].result.metrics[0].value"));
  EXPECT_EQ(r.error().field_errors().size(), 3u);

  Batch b = FullBatch();
  b.observations.assign(1000, b.observations[2]);
  for (auto& o : b.observations) {
    o.result.check = "bad name";
  }
  auto many = DecodeBatch(EncodeBatch(b), kNow);
  ASSERT_FALSE(many.has_value());
  EXPECT_LE(many.error().field_errors().size(), 110u);
}

TEST(BatchTest, AcceptsTimesAtTheEdgesOfTheWindow) {
  Batch b = FullBatch();
  b.sent_at = kNow + 1h;
  b.observations[0].observed_at = kNow - 30 * 24h;
  auto r = DecodeBatch(EncodeBatch(b), kNow);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  b.sent_at = kNow + 1h + 1ms;
  EXPECT_TRUE(HasField(DecodeBatch(EncodeBatch(b), kNow), "sent_at"));
  b.sent_at = kNow;
  b.observations[0].observed_at = kNow - 30 * 24h - 1ms;
  EXPECT_TRUE(HasField(DecodeBatch(EncodeBatch(b), kNow), "observations[0].observed_at"));
  // A leap day, and limits narrowed by the caller.
  const TimePoint leap =
      TimePoint(std::chrono::sys_days{std::chrono::year{2028} / std::chrono::February / 29});
  b.sent_at = leap;
  for (auto& o : b.observations) {
    o.observed_at = leap;
  }
  EXPECT_TRUE(DecodeBatch(EncodeBatch(b), leap + 1h).has_value());
  EXPECT_FALSE(DecodeBatch(EncodeBatch(b), leap + 1h, {.max_past = std::chrono::hours(0)}));
}

TEST(BatchTest, EncoderSanitizesTextSoTheBatchStillDecodes) {
  Batch b = FullBatch();
  auto& r = b.observations[0].result;
  r.message = "bad \xff byte\x01 and \x1b[2J escape\ttab\nnewline";
  r.target = "/dev/\nsda";
  r.details["model"] = std::string(10000, 'x');
  r.metrics.push_back({.name = "nan", .value = std::nan("")});
  r.metrics.push_back({.name = "inf", .value = 1, .warn = INFINITY, .crit = -INFINITY});
  b.agent_version = "";
  auto d = DecodeBatch(EncodeBatch(b), kNow);
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  const auto& got = d->observations[0].result;
  EXPECT_EQ(got.message, "bad \xEF\xBF\xBD byte  and  [2J escape tab\nnewline");
  EXPECT_EQ(got.target, "/dev/ sda");
  EXPECT_LE(got.details.at("model").size(), 4096u);
  EXPECT_EQ(got.details.at("model").substr(got.details.at("model").size() - 3), "...");
  ASSERT_EQ(got.metrics.size(), 5u);  // the NaN metric is left out
  EXPECT_EQ(got.metrics[4], (Metric{.name = "inf", .value = 1}));
  EXPECT_EQ(d->agent_version, "unknown");
}

// Property: EncodeBatch of any valid batch decodes to the same batch.
class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  Batch Next() {
    Batch b;
    b.agent_version = Text(1, 20, false);
    b.sequence = Pick(0, 3) == 0 ? std::numeric_limits<uint64_t>::max() - Pick(0, 5)
                                 : 1 + rng_() % 1'000'000;
    b.sent_at = Time();
    for (int i = Pick(0, 4); i > 0 && b.sequence > 1; --i) {
      uint64_t first = 1 + rng_() % (b.sequence - 1);
      uint64_t last = first + rng_() % (b.sequence - first);
      b.gaps.push_back({first, last});
    }
    for (int i = Pick(0, 6); i > 0; --i) {
      Observation o;
      o.observed_at = Time();
      o.result.check = Name();
      o.result.target = Pick(0, 1) ? "" : Text(1, 40, false);
      o.result.status = static_cast<CheckStatus>(Pick(0, 3));
      o.result.message = Text(0, 80, true);
      for (int m = Pick(0, 5); m > 0; --m) {
        Metric metric{
            .name = Name() + std::to_string(m), .value = Number(), .unit = Text(0, 4, false)};
        metric.warn = Optional();
        metric.crit = Optional();
        metric.min = Optional();
        metric.max = Optional();
        o.result.metrics.push_back(metric);
      }
      for (int d = Pick(0, 3); d > 0; --d) {
        o.result.details[Name()] = Text(0, 30, true);
      }
      b.observations.push_back(std::move(o));
    }
    return b;
  }

 private:
  int Pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  TimePoint Time() {
    auto past = std::chrono::milliseconds(std::chrono::hours(24 * 30)).count();
    auto future = std::chrono::milliseconds(std::chrono::hours(1)).count();
    return kNow +
           std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(-past, future)(rng_));
  }

  std::string Name() {
    static const std::string chars =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/@+=%#";
    std::string s;
    for (int i = Pick(1, 30); i > 0; --i) {
      s += chars[Pick(0, static_cast<int>(chars.size()) - 1)];
    }
    return s;
  }

  std::string Text(int min, int max, bool multiline) {
    static const std::vector<std::string> pieces = {
        "a", "Z", "0",    " ", "\"",     "\\",     "/",      "{",   "}",  "é",
        "—", "✓", "日本", "😀", "\u00a0", "\u2028", "\ufeff", "<b>", "%s", "'"};
    std::string s;
    for (int i = Pick(min, max); i > 0; --i) {
      s += (multiline && Pick(0, 15) == 0) ? "\n"
                                           : pieces[Pick(0, static_cast<int>(pieces.size()) - 1)];
    }
    if (s.empty() && min > 0) {
      s = "x";
    }
    return s;
  }

  double Number() {
    switch (Pick(0, 5)) {
      case 0:
        return Pick(-1000, 1000);
      case 1:
        return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
      case 2:
        return std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng_), Pick(-1000, 1000));
      case 3:
        return std::numeric_limits<double>::denorm_min() * Pick(1, 100);
      case 4:
        return Pick(0, 1) ? std::numeric_limits<double>::max() : -0.0;
      default:
        return 0.1 * Pick(0, 100);
    }
  }

  std::optional<double> Optional() {
    if (Pick(0, 1) == 0) {
      return std::nullopt;
    }
    return Number();
  }

  std::mt19937_64 rng_;
};

TEST(BatchTest, EncodedBatchesAlwaysDecode) {
  Generator gen(20261122);
  for (int i = 0; i < 500; ++i) {
    Batch b = gen.Next();
    std::string text = EncodeBatch(b);
    auto d = DecodeBatch(text, kNow);
    ASSERT_TRUE(d.has_value()) << "iteration " << i << ": " << d.error().ToString() << "\n" << text;
    ExpectSameBatch(*d, b);
    if (HasFailure()) {
      FAIL() << "iteration " << i << ": " << text;
    }
    EXPECT_EQ(EncodeBatch(*d), text);
  }
}

}  // namespace
}  // namespace vigil::proto
