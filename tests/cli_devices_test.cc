// The vigil CLI's device commands against a real vigild: an enrollment token made with the CLI, a
// device enrolled and reporting one batch over the agent API (as vigil-agent would), then the
// device seen, configured and revoked with the CLI.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "e2e_util.h"
#include "net/http_client.h"

namespace vigil::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class CliDevicesTest : public E2eTest {
 protected:
  // Starts vigild and logs the CLI in as the owner.
  void StartAndLogIn() {
    vigild_ = std::make_unique<Vigild>(dir_ / "data");
    ASSERT_GT(vigild_->port(), 0) << vigild_->Log();
    auto [code, out] = Shell("printf '%s' '" + std::string(kPassword) + "' | " +
                             Cli("login --server " + vigild_->url() +
                                 " --email owner@vigil.localhost --password-stdin 2>&1"));
    ASSERT_EQ(code, 0) << out;
  }

  // Sends a JSON request to vigild as an agent would.
  std::pair<int, json> Agent(const std::string& method, const std::string& path, const json& body,
                             const std::string& credential = "") {
    net::Headers headers = {{"Content-Type", "application/json"}};
    if (!credential.empty()) {
      headers.push_back({"Authorization", "Bearer " + credential});
    }
    auto resp = http_.Send(method, vigild_->url() + path, headers, body.dump());
    if (!resp) {
      return {0, nullptr};
    }
    return {resp->status, json::parse(resp->body, nullptr, false)};
  }

  fs::path WriteFile(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }

  std::unique_ptr<Vigild> vigild_;
  net::HttpClient http_;
};

json Batch(uint64_t sequence) {
  const TimePoint now = SystemClock().Now();
  const std::string earlier = FormatRfc3339(now - std::chrono::hours(2));
  const std::string at = FormatRfc3339(now - std::chrono::seconds(5));
  auto disk = [](const std::string& status, const std::string& message, double used) {
    return json{
        {"check", "disk"},
        {"target", "/"},
        {"status", status},
        {"message", message},
        {"metrics",
         {{{"name", "disk.used_percent"}, {"value", used}, {"unit", "%"}, {"warn", 90.0}}}}};
  };
  return {{"version", 1},
          {"agent_version", "1.0.0"},
          {"sequence", sequence},
          {"sent_at", FormatRfc3339(now)},
          {"observations",
           {{{"observed_at", earlier}, {"result", disk("ok", "70% used", 70.0)}},
            {{"observed_at", at}, {"result", disk("warning", "91.5% used of 50 GB", 91.5)}},
            {{"observed_at", at},
             {"result",
              {{"check", "cpu"},
               {"status", "ok"},
               {"message", "load is fine"},
               {"metrics", {{{"name", "cpu.percent"}, {"value", 12.0}}}}}}}}},
          {"gaps", json::array()}};
}

TEST_F(CliDevicesTest, EnrollReportConfigureAndRevoke) {
  ASSERT_NO_FATAL_FAILURE(StartAndLogIn());
  auto [created, created_out] = Shell(Cli("--json clients create --name 'Devices Co'"));
  ASSERT_EQ(created, 0) << created_out;
  const int64_t client = json::parse(created_out)["id"];
  const std::string cid = std::to_string(client);

  // An enrollment token, shown once with the command line to run on the machine.
  auto [tok, tok_out] = Shell(Cli("enrollment-tokens create --client " + cid +
                                  " --kind server --max-uses 2 --label 'office rack' 2>&1"));
  ASSERT_EQ(tok, 0) << tok_out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(tok_out, m, std::regex("Token: (vge_[A-Za-z0-9_-]+)"))) << tok_out;
  const std::string token = m[1];
  EXPECT_NE(tok_out.find("vigil-agent enroll --server " + vigild_->url() + " --token " + token),
            std::string::npos)
      << tok_out;
  EXPECT_NE(tok_out.find("\"office rack\""), std::string::npos) << tok_out;
  EXPECT_NE(tok_out.find("shown only this once"), std::string::npos) << tok_out;

  auto [tl, tl_out] = Shell(Cli("--json enrollment-tokens list --client " + cid));
  ASSERT_EQ(tl, 0) << tl_out;
  json tokens = json::parse(tl_out);
  ASSERT_EQ(tokens["total"], 1) << tl_out;
  EXPECT_EQ(tokens["items"][0]["uses"], 0);
  EXPECT_EQ(tokens["items"][0]["max_uses"], 2);
  EXPECT_FALSE(tokens["items"][0].contains("token")) << "the secret is shown only at creation";
  const int64_t token_id = tokens["items"][0]["id"];
  auto [tt, tt_out] = Shell(Cli("enrollment-tokens list"));
  ASSERT_EQ(tt, 0) << tt_out;
  EXPECT_NE(tt_out.find("office rack"), std::string::npos) << tt_out;
  EXPECT_NE(tt_out.find("0/2"), std::string::npos) << tt_out;
  EXPECT_NE(tt_out.find("usable"), std::string::npos) << tt_out;

  // The machine enrolls and reports one batch.
  json inventory = {{"hostname", "db-01"},
                    {"os_name", "Debian GNU/Linux"},
                    {"os_version", "12 (bookworm)"},
                    {"kernel", "6.1.0-18-amd64"},
                    {"architecture", "x86_64"},
                    {"cpu_model", "Xeon E-2236"},
                    {"cpu_cores", 6},
                    {"memory_bytes", 34359738368ULL},
                    {"disks", {{{"name", "sda"}, {"size_bytes", 500000000000ULL}}}}};
  auto [enrolled, enroll] = Agent("POST", "/api/v1/agent/enroll",
                                  {{"token", token},
                                   {"hostname", "db-01"},
                                   {"kind", "server"},
                                   {"agent_version", "1.0.0"},
                                   {"inventory", inventory}});
  ASSERT_EQ(enrolled, 201) << enroll.dump();
  const std::string credential = enroll["credential"];
  const int64_t device = enroll["device_id"];
  const std::string did = std::to_string(device);
  auto [posted, batch_reply] = Agent("POST", "/api/v1/agent/batches", Batch(1), credential);
  ASSERT_EQ(posted, 200) << batch_reply.dump();
  EXPECT_EQ(batch_reply["duplicate"], false);

  // The list: table and JSON, with filters.
  auto [list, list_out] = Shell(Cli("devices list"));
  ASSERT_EQ(list, 0) << list_out;
  for (const char* s : {"HOSTNAME", "PRESENCE", "FAILING", "LAST SEEN", "db-01",
                        "Debian GNU/Linux 12 (bookworm)", "online", "warning", "Total: 1"}) {
    EXPECT_NE(list_out.find(s), std::string::npos) << s << " in\n" << list_out;
  }
  auto [lj, lj_out] = Shell(Cli("--json devices list --client " + cid +
                                " --status warning --presence online --search db"));
  ASSERT_EQ(lj, 0) << lj_out;
  json page = json::parse(lj_out);
  ASSERT_EQ(page["total"], 1) << lj_out;
  EXPECT_EQ(page["items"][0]["id"], device);
  EXPECT_EQ(page["items"][0]["failing_checks"], 1);
  auto [none, none_out] = Shell(Cli("devices list --status critical"));
  EXPECT_EQ(none, 0) << none_out;
  EXPECT_EQ(none_out, "No devices.\n");
  auto [badf, badf_out] = Shell(Cli("devices list --status bogus 2>&1"));
  EXPECT_EQ(badf, 2) << badf_out;

  // One device: summary, a line per check, inventory.
  auto [show, show_out] = Shell(Cli("devices show " + did));
  ASSERT_EQ(show, 0) << show_out;
  for (const char* s : {"hostname", "db-01", "Checks:", "CHECK", "TARGET", "SINCE",
                        "91.5% used of 50 GB", "load is fine", "Inventory:", "6.1.0-18-amd64",
                        "Xeon E-2236 (6 cores)", "32.0 GiB", "sda (500 GB)"}) {
    EXPECT_NE(show_out.find(s), std::string::npos) << s << " in\n" << show_out;
  }
  EXPECT_EQ(show_out.find("\"checks\""), std::string::npos) << show_out;
  auto [sj, sj_out] = Shell(Cli("--json devices show " + did));
  ASSERT_EQ(sj, 0) << sj_out;
  json detail = json::parse(sj_out);
  EXPECT_EQ(detail["status"], "warning");
  EXPECT_EQ(detail["checks"].size(), 2u) << sj_out;
  auto [missing, missing_out] = Shell(Cli("devices show 999 2>&1"));
  EXPECT_EQ(missing, 5) << missing_out;

  // History: raw points, the (not yet rolled up) hourly view, an unknown check.
  auto [hist, hist_out] = Shell(Cli("devices history " + did + " disk --target /"));
  ASSERT_EQ(hist, 0) << hist_out;
  for (const char* s : {"TIME", "STATUS", "METRICS", "disk.used_percent=70%",
                        "disk.used_percent=91.5%", "warning", "Points: 2"}) {
    EXPECT_NE(hist_out.find(s), std::string::npos) << s << " in\n" << hist_out;
  }
  auto [hj, hj_out] =
      Shell(Cli("--json devices history " + did + " disk --target / --resolution raw --limit 1"));
  ASSERT_EQ(hj, 0) << hj_out;
  json history = json::parse(hj_out);
  EXPECT_EQ(history["resolution"], "raw");
  ASSERT_EQ(history["points"].size(), 1u) << hj_out;
  auto [hh, hh_out] = Shell(Cli("devices history " + did + " disk --target / --resolution hour"));
  EXPECT_EQ(hh, 0) << hh_out;
  EXPECT_NE(hh_out.find("No hourly roll-ups for disk (/) on device " + did), std::string::npos)
      << hh_out;
  auto [hx, hx_out] = Shell(Cli("devices history " + did + " bogus 2>&1"));
  EXPECT_EQ(hx, 5) << hx_out;
  auto [hf, hf_out] = Shell(Cli("devices history " + did + " disk --from yesterday 2>&1"));
  EXPECT_EQ(hf, 1) << hf_out;
  EXPECT_NE(hf_out.find("from"), std::string::npos) << hf_out;

  // Configuration: shown, a bad override refused naming the field, a good one applied.
  auto [cfg, cfg_out] = Shell(Cli("devices config " + did));
  ASSERT_EQ(cfg, 0) << cfg_out;
  json effective = json::parse(cfg_out, nullptr, false);
  ASSERT_TRUE(effective.is_object()) << cfg_out;
  EXPECT_TRUE(effective["checks"].contains("disk")) << cfg_out;
  fs::path bad = WriteFile("bad.json", R"({"checks": {"disk": {"warn_percent": 150}}})");
  auto [rb, rb_out] = Shell(Cli("devices config " + did + " --set " + bad.string() + " 2>&1"));
  EXPECT_EQ(rb, 1) << rb_out;
  EXPECT_NE(rb_out.find("checks.disk.warn_percent"), std::string::npos) << rb_out;
  EXPECT_NE(rb_out.find("bad.json"), std::string::npos) << rb_out;
  EXPECT_EQ(std::count(rb_out.begin(), rb_out.end(), '\n'), 1) << "one clear line: " << rb_out;
  fs::path two = WriteFile(
      "two.json", R"({"checks": {"disk": {"warn_percent": 150}, "cpu": {"bogus_key": 1}}})");
  auto [r2, r2_out] = Shell(Cli("devices config " + did + " --set " + two.string() + " 2>&1"));
  EXPECT_EQ(r2, 1) << r2_out;
  EXPECT_NE(r2_out.find("\n  checks.disk.warn_percent: "), std::string::npos) << r2_out;
  EXPECT_NE(r2_out.find("\n  checks.cpu.bogus_key: "), std::string::npos) << r2_out;
  fs::path garbage = WriteFile("garbage.json", "{\"checks\": ");
  auto [rg, rg_out] = Shell(Cli("devices config " + did + " --set " + garbage.string() + " 2>&1"));
  EXPECT_EQ(rg, 2) << rg_out;
  EXPECT_NE(rg_out.find("is not valid JSON"), std::string::npos) << rg_out;
  auto [rn, rn_out] =
      Shell(Cli("devices config " + did + " --set " + (dir_ / "nope").string() + " 2>&1"));
  EXPECT_EQ(rn, 2) << rn_out;
  fs::path good = WriteFile("good.json", R"({"checks": {"disk": {"warn_percent": 80}}})");
  auto [rs, rs_out] = Shell(Cli("devices config " + did + " --set " + good.string()));
  ASSERT_EQ(rs, 0) << rs_out;
  EXPECT_NE(rs_out.find("Set the configuration override of device " + did), std::string::npos)
      << rs_out;
  auto [cj, cj_out] = Shell(Cli("--json devices config " + did));
  ASSERT_EQ(cj, 0) << cj_out;
  json config = json::parse(cj_out);
  EXPECT_EQ(config["override"]["checks"]["disk"]["warn_percent"], 80) << cj_out;
  EXPECT_EQ(config["effective"]["checks"]["disk"]["warn_percent"], 80) << cj_out;

  // Revoking the device: its credential stops working, it leaves the default list.
  auto [rv, rv_out] = Shell(Cli("devices revoke " + did));
  ASSERT_EQ(rv, 0) << rv_out;
  EXPECT_NE(rv_out.find("Revoked device " + did), std::string::npos) << rv_out;
  auto [after, after_reply] = Agent("POST", "/api/v1/agent/batches", Batch(2), credential);
  EXPECT_EQ(after, 401) << after_reply.dump();
  auto [gone, gone_out] = Shell(Cli("devices list"));
  EXPECT_EQ(gone_out, "No devices.\n");
  auto [rvl, rvl_out] = Shell(Cli("--json devices list --revoked true"));
  ASSERT_EQ(rvl, 0) << rvl_out;
  EXPECT_EQ(json::parse(rvl_out)["total"], 1) << rvl_out;

  // Revoking the token: it enrolls nothing more.
  auto [rt, rt_out] = Shell(Cli("enrollment-tokens revoke " + std::to_string(token_id)));
  ASSERT_EQ(rt, 0) << rt_out;
  EXPECT_NE(rt_out.find("Revoked enrollment token"), std::string::npos) << rt_out;
  auto [re, re_reply] =
      Agent("POST", "/api/v1/agent/enroll", {{"token", token}, {"hostname", "db-02"}});
  EXPECT_GE(re, 400) << re_reply.dump();
  EXPECT_LT(re, 500) << re_reply.dump();
  auto [rl, rl_out] = Shell(Cli("--json enrollment-tokens list --revoked true"));
  ASSERT_EQ(rl, 0) << rl_out;
  json revoked = json::parse(rl_out);
  ASSERT_EQ(revoked["total"], 1) << rl_out;
  EXPECT_EQ(revoked["items"][0]["usable"], false);
  auto [rtt, rtt_out] = Shell(Cli("enrollment-tokens list --revoked true"));
  EXPECT_NE(rtt_out.find("revoked"), std::string::npos) << rtt_out;
  EXPECT_NE(rtt_out.find("1/2"), std::string::npos) << rtt_out;
  auto [rt2, rt2_out] = Shell(Cli("enrollment-tokens revoke 999 2>&1"));
  EXPECT_EQ(rt2, 5) << rt2_out;
}

}  // namespace
}  // namespace vigil::testing
