// Devices end to end through the request pipeline, on both stores: enrollment tokens, the agent's
// batches (idempotent, refused when bad, counted), current state, history and roll-ups,
// inventory and configuration.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "api_fixture.h"
#include "crypto/crypto.h"

namespace vigil::testing {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::minutes;

class DevicesApiTest : public StoreTest {};

json Observation(const std::string& check, const std::string& target, const std::string& status,
                 TimePoint at, double value = 1.0) {
  return {{"observed_at", FormatRfc3339(at)},
          {"result",
           {{"check", check},
            {"target", target},
            {"status", status},
            {"message", check + " is " + status},
            {"metrics", json::array({{{"name", check + ".value"}, {"value", value}}})}}}};
}

json Batch(uint64_t seq, TimePoint now, json observations, json gaps = json::array()) {
  return {{"version", 1},
          {"agent_version", "0.1.0"},
          {"sequence", seq},
          {"sent_at", FormatRfc3339(now)},
          {"observations", std::move(observations)},
          {"gaps", std::move(gaps)}};
}

int64_t Counter(ApiFixture& f, const std::string& line_prefix) {
  auto m = f.Call("GET", "/metrics", Auth::None());
  size_t at = m.raw.find("\n" + line_prefix + " ");
  if (at == std::string::npos) {
    return 0;
  }
  return std::stoll(m.raw.substr(at + line_prefix.size() + 2));
}

TEST_P(DevicesApiTest, EnrollmentTokensLimitUsesExpireAndRevoke) {
  ApiFixture f(GetParam());
  ClientId c = f.CreateClient("Acme");
  auto t = f.Call("POST", fmt::format("/api/v1/clients/{}/enrollment-tokens", Raw(c)), f.owner(),
                  json{{"label", "office"}, {"max_uses", 2}, {"expires_in_hours", 1}});
  ASSERT_EQ(t.status, 201) << t.raw;
  std::string token = t.body["token"];
  EXPECT_EQ(token.substr(0, 4), "vge_");
  auto enroll = [&](const std::string& tok) {
    return f.Call("POST", "/api/v1/agent/enroll", Auth::None(),
                  json{{"token", tok}, {"hostname", "pc"}, {"kind", "workstation"}});
  };
  auto first = enroll(token);
  ASSERT_EQ(first.status, 201) << first.raw;
  EXPECT_EQ(first.body["config"]["checks"]["firewall"]["required"], false);  // workstation
  std::string credential = first.body["credential"];
  EXPECT_EQ(credential.substr(0, 4), "vgd_");
  // Only hashes are stored.
  int64_t stored = 0;
  ASSERT_TRUE(f.app()
                  .db()
                  .Read([&](storage::Tx& tx) -> Status {
                    auto rows = tx.Query("SELECT COUNT(*) FROM devices WHERE credential_hash = ?",
                                         {crypto::Sha256Hex(credential)});
                    stored = rows ? (*rows)[0].Int(0) : -1;
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(stored, 1);
  EXPECT_EQ(enroll(token).status, 201);
  auto used_up = enroll(token);
  EXPECT_EQ(used_up.status, 401) << used_up.raw;
  EXPECT_EQ(enroll("vge_guessed").status, 401);

  auto t2 = f.Call("POST", fmt::format("/api/v1/clients/{}/enrollment-tokens", Raw(c)), f.owner(),
                   json{{"expires_in_hours", 1}});
  f.clock().Advance(hours(2));
  EXPECT_EQ(enroll(t2.body["token"]).status, 401) << "expired";

  auto t3 = f.Call("POST", fmt::format("/api/v1/clients/{}/enrollment-tokens", Raw(c)), f.owner(),
                   json::object());
  EXPECT_EQ(f.Call("DELETE", fmt::format("/api/v1/enrollment-tokens/{}", t3.body["id"].get<int>()),
                   f.owner())
                .status,
            204);
  EXPECT_EQ(enroll(t3.body["token"]).status, 401) << "revoked";
  auto list = f.Call("GET", "/api/v1/enrollment-tokens?revoked=false", f.owner());
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["total"], 2);
  EXPECT_FALSE(list.body["items"][0].contains("token")) << "secrets are shown once";

  // Bad input changes nothing.
  int64_t devices = f.Count("devices");
  auto bad = f.Call("POST", "/api/v1/agent/enroll", Auth::None(),
                    json{{"token", token}, {"hostname", "x"}, {"inventory", {{"disks", 5}}}});
  EXPECT_EQ(bad.status, 400) << bad.raw;
  EXPECT_EQ(bad.FirstErrorField(), "inventory.disks");
  EXPECT_EQ(f.Count("devices"), devices);
}

TEST_P(DevicesApiTest, BatchesAreStoredOnceAndDriveTheCurrentState) {
  ApiFixture f(GetParam());
  ClientId c = f.CreateClient("Acme");
  auto dev = f.EnrollDevice(c, "fileserver");
  TimePoint t0 = f.clock().Now();
  json obs = json::array({Observation("disk", "/", "ok", t0 - minutes(1), 50),
                          Observation("disk", "/var", "ok", t0 - minutes(1), 60),
                          Observation("cpu", "", "ok", t0 - minutes(1), 5)});
  auto r = f.Call("POST", "/api/v1/agent/batches", dev.auth(), Batch(1, t0, obs));
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["duplicate"], false);
  EXPECT_EQ(f.StoredResults(), 3);
  // A replay (the reply was lost) is acknowledged again and changes nothing.
  auto again = f.Call("POST", "/api/v1/agent/batches", dev.auth(), Batch(1, t0, obs));
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.body["duplicate"], true);
  EXPECT_EQ(f.StoredResults(), 3);

  auto d = f.Call("GET", fmt::format("/api/v1/devices/{}", Raw(dev.id)), f.owner());
  ASSERT_EQ(d.status, 200) << d.raw;
  EXPECT_EQ(d.body["status"], "ok");
  EXPECT_EQ(d.body["presence"], "online");
  EXPECT_EQ(d.body["checks"].size(), 3u);

  // /var fills up: the device turns critical, changed_at moves only for /var.
  f.clock().Advance(minutes(1));
  TimePoint t1 = f.clock().Now();
  r = f.Call("POST", "/api/v1/agent/batches", dev.auth(),
             Batch(2, t1,
                   json::array({Observation("disk", "/", "ok", t1, 51),
                                Observation("disk", "/var", "critical", t1, 97)}),
                   json::array({{{"first_sequence", 1}, {"last_sequence", 1}}})));
  // The gap must end before the batch; 1 is stored already but a gap report is just a report.
  ASSERT_EQ(r.status, 200) << r.raw;
  d = f.Call("GET", fmt::format("/api/v1/devices/{}", Raw(dev.id)), f.owner());
  EXPECT_EQ(d.body["status"], "critical");
  EXPECT_EQ(d.body["failing_checks"], 1);
  EXPECT_EQ(d.body["lost_batches"], 1);
  for (const auto& ch : d.body["checks"]) {
    if (ch["target"] == "/var") {
      EXPECT_EQ(ch["status"], "critical");
      EXPECT_EQ(ch["changed_at"], FormatRfc3339(t1));
    } else if (ch["target"] == "/") {
      EXPECT_EQ(ch["changed_at"], FormatRfc3339(t0 - minutes(1)));
      EXPECT_EQ(ch["observed_at"], FormatRfc3339(t1));
    }
  }
  // An older result arriving late is history, not the current state.
  r = f.Call("POST", "/api/v1/agent/batches", dev.auth(),
             Batch(3, t1, json::array({Observation("disk", "/var", "ok", t0, 10)})));
  ASSERT_EQ(r.status, 200);
  d = f.Call("GET", fmt::format("/api/v1/devices/{}", Raw(dev.id)), f.owner());
  EXPECT_EQ(d.body["status"], "critical");

  // Lists filter by status; client contacts see only their client's devices.
  f.EnrollDevice(f.CreateClient("Other"), "elsewhere");
  auto crit = f.Call("GET", "/api/v1/devices?status=critical", f.owner());
  ASSERT_EQ(crit.status, 200);
  ASSERT_EQ(crit.body["total"], 1);
  EXPECT_EQ(crit.body["items"][0]["hostname"], "fileserver");
  EXPECT_EQ(f.Call("GET", "/api/v1/devices?presence=never", f.owner()).body["total"], 1);
  auto contact = f.UserWithToken(domain::Role::kClientUser, c);
  auto mine = f.Call("GET", "/api/v1/devices", contact);
  EXPECT_EQ(mine.body["total"], 1);
  EXPECT_EQ(mine.body["items"][0]["hostname"], "fileserver");
}

TEST_P(DevicesApiTest, FleetSummaryCountsPerClientAndSiteWithinScope) {
  ApiFixture f(GetParam());
  ClientId acme = f.CreateClient("Acme");
  SiteId main_site = f.CreateSite(acme, "Main");
  ClientId beta = f.CreateClient("Beta");
  auto t = f.Call("POST", fmt::format("/api/v1/clients/{}/enrollment-tokens", Raw(acme)), f.owner(),
                  json{{"site_id", Raw(main_site)}, {"max_uses", 2}});
  ASSERT_EQ(t.status, 201) << t.raw;
  auto enroll_at_site = [&](const std::string& host) {
    auto r = f.Call("POST", "/api/v1/agent/enroll", Auth::None(),
                    json{{"token", t.body["token"]}, {"hostname", host}});
    EXPECT_EQ(r.status, 201) << r.raw;
    return Auth::Token(r.body["credential"].get<std::string>());
  };
  TimePoint now = f.clock().Now();
  auto report = [&](const Auth& dev, const std::string& status) {
    auto r = f.Call("POST", "/api/v1/agent/batches", dev,
                    Batch(1, now, json::array({Observation("cpu", "", status, now)})));
    EXPECT_EQ(r.status, 200) << r.raw;
  };
  report(enroll_at_site("a"), "critical");
  report(enroll_at_site("b"), "ok");
  f.EnrollDevice(acme, "c");  // never reports
  report(f.EnrollDevice(beta, "d").auth(), "warning");
  auto gone = f.EnrollDevice(acme, "revoked");
  ASSERT_EQ(f.Call("DELETE", fmt::format("/api/v1/devices/{}", Raw(gone.id)), f.owner()).status,
            204);

  auto s = f.Call("GET", "/api/v1/fleet/summary", f.owner());
  ASSERT_EQ(s.status, 200) << s.raw;
  EXPECT_EQ(s.body["totals"], (json{{"devices", 4},
                                    {"online", 3},
                                    {"offline", 0},
                                    {"never", 1},
                                    {"ok", 1},
                                    {"warning", 1},
                                    {"critical", 1},
                                    {"unknown", 0},
                                    {"none", 1}}));
  const json& g = s.body["groups"];
  ASSERT_EQ(g.size(), 3u) << s.raw;
  // Acme without a site first, then Acme's Main site, then Beta.
  EXPECT_EQ(g[0]["client_name"], "Acme");
  EXPECT_EQ(g[0]["site_id"], nullptr);
  EXPECT_EQ(g[0]["devices"], 1);
  EXPECT_EQ(g[0]["never"], 1);
  EXPECT_EQ(g[0]["none"], 1);
  EXPECT_EQ(g[1]["site_id"], Raw(main_site));
  EXPECT_EQ(g[1]["site_name"], "Main");
  EXPECT_EQ(g[1]["devices"], 2);
  EXPECT_EQ(g[1]["online"], 2);
  EXPECT_EQ(g[1]["critical"], 1);
  EXPECT_EQ(g[1]["ok"], 1);
  EXPECT_EQ(g[2]["client_id"], Raw(beta));
  EXPECT_EQ(g[2]["warning"], 1);

  // Past the presence grace without a WebSocket, the reporting devices are offline.
  f.clock().Advance(minutes(10));
  s = f.Call("GET", "/api/v1/fleet/summary", f.owner());
  EXPECT_EQ(s.body["totals"]["online"], 0);
  EXPECT_EQ(s.body["totals"]["offline"], 3);

  // A client contact counts only their own company's devices.
  auto contact = f.UserWithToken(domain::Role::kClientUser, acme);
  s = f.Call("GET", "/api/v1/fleet/summary", contact);
  ASSERT_EQ(s.status, 200) << s.raw;
  EXPECT_EQ(s.body["totals"]["devices"], 3);
  ASSERT_EQ(s.body["groups"].size(), 2u);
  for (const auto& group : s.body["groups"]) {
    EXPECT_EQ(group["client_id"], Raw(acme));
  }
  EXPECT_EQ(f.Call("GET", "/api/v1/fleet/summary?client_id=2", f.owner()).status, 400);
}

TEST_P(DevicesApiTest, BadBatchesAreRefusedCountedAndChangeNothing) {
  ApiFixture f(GetParam());
  auto dev = f.EnrollDevice(f.CreateClient("Acme"));
  TimePoint now = f.clock().Now();
  int64_t before_rejected = Counter(f, "vigil_agent_batches_rejected_total{reason=\"malformed\"}");
  struct Case {
    std::string body;
    int status;
    std::string reason;
  };
  std::vector<Case> cases = {
      {"{not json", 400, "malformed"},
      {Batch(1, now, json::array({Observation("telepathy", "", "ok", now)})).dump(), 400,
       "unknown_check"},
      {Batch(1, now, json::array({Observation("cpu", "", "ok", now + hours(24 * 365))})).dump(),
       400, "bad_timestamp"},
      {Batch(1, now, json::array({Observation("cpu", "", "sideways", now)})).dump(), 400,
       "malformed"},
      {Batch(0, now, json::array()).dump(), 400, "malformed"},
      {std::string(5 << 20, ' '), 413, ""},
  };
  for (const auto& c : cases) {
    auto r = f.Call("POST", "/api/v1/agent/batches", dev.auth(), c.body);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 200) << ": " << r.raw;
    if (!c.reason.empty()) {
      EXPECT_GE(Counter(f, "vigil_agent_batches_rejected_total{reason=\"" + c.reason + "\"}"), 1)
          << c.reason;
    }
  }
  EXPECT_EQ(Counter(f, "vigil_agent_batches_rejected_total{reason=\"malformed\"}"),
            before_rejected + 3);
  EXPECT_EQ(f.StoredResults(), 0);
  EXPECT_EQ(f.Count("check_states"), 0);
  EXPECT_EQ(f.Count("device_batches"), 0);
  // A sequence that failed can be sent again, right, and is then stored.
  auto ok = f.Call("POST", "/api/v1/agent/batches", dev.auth(),
                   Batch(1, now, json::array({Observation("cpu", "", "ok", now)})));
  EXPECT_EQ(ok.status, 200) << ok.raw;
  EXPECT_EQ(ok.body["duplicate"], false);
}

TEST_P(DevicesApiTest, HistoryRollsUpHourlyAndRawResultsExpire) {
  ApiFixture f(GetParam());
  auto dev = f.EnrollDevice(f.CreateClient("Acme"));
  // Start at the top of an hour so the samples fall into two known hours.
  int64_t ms = ToUnixMillis(f.clock().Now());
  f.clock().Advance(std::chrono::milliseconds(3'600'000 - ms % 3'600'000));
  TimePoint h0 = f.clock().Now();
  uint64_t seq = 0;
  for (int i = 0; i < 6; ++i) {  // every 20 minutes for 2 hours: 10, 20, 30 | 40, 50, 60
    TimePoint at = h0 + minutes(20 * i);
    f.clock().Advance(at - f.clock().Now());
    auto r = f.Call(
        "POST", "/api/v1/agent/batches", dev.auth(),
        Batch(
            ++seq, at,
            json::array({Observation("cpu", "", i == 4 ? "warning" : "ok", at, 10.0 * (i + 1))})));
    ASSERT_EQ(r.status, 200) << r.raw;
  }
  std::string base = fmt::format("/api/v1/devices/{}/checks/cpu/history", Raw(dev.id));
  auto raw = f.Call(
      "GET",
      base + "?resolution=raw&from=" + FormatRfc3339(h0) + "&to=" + FormatRfc3339(h0 + hours(2)),
      f.owner());
  ASSERT_EQ(raw.status, 200) << raw.raw;
  ASSERT_EQ(raw.body["points"].size(), 6u);
  EXPECT_EQ(raw.body["points"][4]["status"], "warning");

  f.clock().Advance(hours(2));
  auto report = f.app().RunMaintenance();
  ASSERT_TRUE(report.has_value()) << report.status().ToString();
  EXPECT_GE(report->rollup_rows, 2);
  auto hourly = f.Call(
      "GET",
      base + "?resolution=hour&from=" + FormatRfc3339(h0) + "&to=" + FormatRfc3339(h0 + hours(2)),
      f.owner());
  ASSERT_EQ(hourly.status, 200) << hourly.raw;
  ASSERT_EQ(hourly.body["points"].size(), 2u) << hourly.raw;
  const auto& first = hourly.body["points"][0];
  EXPECT_EQ(first["samples"], 3);
  EXPECT_DOUBLE_EQ(first["min"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(first["max"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(first["avg"].get<double>(), 20.0);
  EXPECT_EQ(first["worst_status"], "ok");
  EXPECT_EQ(hourly.body["points"][1]["worst_status"], "warning");
  // History keeps each metric's value; units and thresholds are the current state's.
  const auto& point = raw.body["points"][0];
  ASSERT_EQ(point["metrics"].size(), 1u) << raw.raw;
  EXPECT_DOUBLE_EQ(point["metrics"][0]["value"].get<double>(), 10.0);

  // A result of the first hour that arrives after it was rolled up (an agent's spool replayed
  // late) is merged into that hour's roll-up, and a second run counts nothing twice.
  auto late =
      f.Call("POST", "/api/v1/agent/batches", dev.auth(),
             Batch(++seq, h0 + minutes(50),
                   json::array({Observation("cpu", "", "critical", h0 + minutes(50), 100.0)})));
  ASSERT_EQ(late.status, 200) << late.raw;
  report = f.app().RunMaintenance();
  ASSERT_TRUE(report.has_value()) << report.status().ToString();
  EXPECT_EQ(report->results_rolled_up, 1);
  ASSERT_TRUE(f.app().RunMaintenance().has_value());
  hourly = f.Call(
      "GET",
      base + "?resolution=hour&from=" + FormatRfc3339(h0) + "&to=" + FormatRfc3339(h0 + hours(2)),
      f.owner());
  ASSERT_EQ(hourly.body["points"].size(), 2u) << hourly.raw;
  EXPECT_EQ(hourly.body["points"][0]["samples"], 4);
  EXPECT_DOUBLE_EQ(hourly.body["points"][0]["min"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(hourly.body["points"][0]["max"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(hourly.body["points"][0]["avg"].get<double>(), 40.0);
  EXPECT_EQ(hourly.body["points"][0]["worst_status"], "critical");
  EXPECT_EQ(hourly.body["points"][1]["samples"], 3);

  // Bad parameters are named.
  auto bad = f.Call("GET", base + "?from=yesterday", f.owner());
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.FirstErrorField(), "from");
  EXPECT_EQ(f.Call("GET", base + "?bogus=1", f.owner()).status, 400);
  EXPECT_EQ(
      f.Call("GET", fmt::format("/api/v1/devices/{}/checks/nope/history", Raw(dev.id)), f.owner())
          .status,
      404);
  // Past raw retention (14 days after they were rolled up), raw results go; roll-ups stay.
  f.clock().Advance(hours(24 * 15));
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(f.app().RunMaintenance().has_value());
  }
  EXPECT_EQ(f.StoredResults(), 0);
  EXPECT_EQ(f.Count("check_rollups"), 2);
}

TEST_P(DevicesApiTest, InventoryKeepsItsChangeHistory) {
  ApiFixture f(GetParam());
  auto dev = f.EnrollDevice(f.CreateClient("Acme"));
  json inv = {{"hostname", "fileserver"},
              {"os_name", "Debian GNU/Linux"},
              {"os_version", "12 (bookworm)"},
              {"memory_bytes", 8589934592}};
  auto r = f.Call("PUT", "/api/v1/agent/inventory", dev.auth(), inv);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["changed"], true);
  EXPECT_EQ(f.Call("PUT", "/api/v1/agent/inventory", dev.auth(), inv).body["changed"], false);
  inv["memory_bytes"] = 17179869184;
  EXPECT_EQ(f.Call("PUT", "/api/v1/agent/inventory", dev.auth(), inv).body["changed"], true);
  auto d = f.Call("GET", fmt::format("/api/v1/devices/{}", Raw(dev.id)), f.owner());
  EXPECT_EQ(d.body["os"], "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(d.body["inventory"]["memory_bytes"], 17179869184);
  auto h =
      f.Call("GET", fmt::format("/api/v1/devices/{}/inventory/history", Raw(dev.id)), f.owner());
  ASSERT_EQ(h.status, 200);
  EXPECT_EQ(h.body["items"].size(), 2u);
  auto bad = f.Call("PUT", "/api/v1/agent/inventory", dev.auth(), json{{"hostname", 7}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.FirstErrorField(), "hostname");
}

TEST_P(DevicesApiTest, ConfigurationLayersKindAndDeviceOverrides) {
  ApiFixture f(GetParam());
  auto dev = f.EnrollDevice(f.CreateClient("Acme"));
  auto cfg = f.Call("GET", "/api/v1/agent/config", dev.auth());
  ASSERT_EQ(cfg.status, 200) << cfg.raw;
  int64_t rev0 = cfg.body["revision"];
  double default_warn = cfg.body["checks"]["disk"]["warn_percent"];

  auto bad = f.Call("PUT", fmt::format("/api/v1/devices/{}/config", Raw(dev.id)), f.owner(),
                    json{{"override", {{"checks", {{"disk", {{"warn_percent", 120}}}}}}}});
  EXPECT_EQ(bad.status, 400) << bad.raw;
  EXPECT_EQ(bad.FirstErrorField(), "override.checks.disk.warn_percent");

  auto kind = f.Call("PUT", "/api/v1/device-kinds/server/config", f.owner(),
                     json{{"override", {{"checks", {{"disk", {{"warn_percent", 70}}}}}}}});
  ASSERT_EQ(kind.status, 200) << kind.raw;
  auto put = f.Call(
      "PUT", fmt::format("/api/v1/devices/{}/config", Raw(dev.id)), f.owner(),
      json{{"override", {{"checks", {{"services", {{"units", json::array({"ssh.service"})}}}}}}}});
  ASSERT_EQ(put.status, 200) << put.raw;
  cfg = f.Call("GET", "/api/v1/agent/config", dev.auth());
  EXPECT_GT(cfg.body["revision"].get<int64_t>(), rev0);
  EXPECT_EQ(cfg.body["checks"]["disk"]["warn_percent"], 70.0);
  EXPECT_NE(default_warn, 70.0);
  EXPECT_EQ(cfg.body["checks"]["services"]["units"][0], "ssh.service");
  // The next batch's reply tells the agent that its configuration changed.
  auto b =
      f.Call("POST", "/api/v1/agent/batches", dev.auth(), Batch(1, f.clock().Now(), json::array()));
  EXPECT_EQ(b.body["config_revision"], cfg.body["revision"]);
  // A technician may read it but not change it (plugins run as root on the device).
  auto tech = f.UserWithToken(domain::Role::kTechnician, std::nullopt);
  EXPECT_EQ(f.Call("GET", fmt::format("/api/v1/devices/{}/config", Raw(dev.id)), tech).status, 200);
  EXPECT_EQ(f.Call("PUT", fmt::format("/api/v1/devices/{}/config", Raw(dev.id)), tech,
                   json{{"override", json::object()}})
                .status,
            403);
}

INSTANTIATE_TEST_SUITE_P(Stores, DevicesApiTest, ::testing::ValuesIn(StoreKinds()),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace vigil::testing
