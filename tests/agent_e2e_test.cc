// vigil-agent and vigild as processes on loopback: enrollment, real restic and borg repositories
// and monitoring plugins seen through the agent, presence over the WebSocket, and vigild killed
// with SIGKILL in the middle of a stream without losing or double-counting a result.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>

#include <fmt/format.h>

#include "e2e_util.h"
#include "net/http_client.h"
#include "storage/database.h"

namespace vigil::testing {
namespace {

using std::chrono::seconds;

bool Have(const char* tool) {
  return Shell(fmt::format("command -v {} >/dev/null", tool)).first == 0;
}

// The owner's API, through a write token made from a password sign-in.
class OwnerApi {
 public:
  explicit OwnerApi(std::string url) : url_(std::move(url)) {
    auto login =
        http_.Send("POST", url_ + "/api/v1/auth/login", {{"content-type", "application/json"}},
                   json{{"email", "owner@vigil.localhost"}, {"password", kPassword}}.dump());
    EXPECT_TRUE(login.has_value() && login->status == 200);
    std::string cookie(login->Header("set-cookie").value_or(""));
    cookie = cookie.substr(0, cookie.find(';'));
    std::string csrf = json::parse(login->body)["csrf_token"];
    auto token = http_.Send(
        "POST", url_ + "/api/v1/tokens",
        {{"content-type", "application/json"}, {"cookie", cookie}, {"x-csrf-token", csrf}},
        json{{"name", "e2e"}, {"scope", "write"}}.dump());
    EXPECT_TRUE(token.has_value() && token->status == 201) << (token ? token->body : "");
    token_ = json::parse(token->body)["secret"];
  }
  json Call(const std::string& method, const std::string& path, const json& body = nullptr,
            int want = 0) {
    auto r =
        http_.Send(method, url_ + path,
                   {{"content-type", "application/json"}, {"authorization", "Bearer " + token_}},
                   body.is_null() ? "" : body.dump());
    EXPECT_TRUE(r.has_value()) << path;
    if (!r) {
      return nullptr;
    }
    if (want != 0) {
      EXPECT_EQ(r->status, want) << method << " " << path << ": " << r->body;
    }
    return r->body.empty() ? json(nullptr) : json::parse(r->body, nullptr, false);
  }
  // A one-use enrollment token for a new client.
  std::string EnrollmentToken(const std::string& client_name) {
    json c = Call("POST", "/api/v1/clients", json{{"name", client_name}}, 201);
    json t =
        Call("POST", fmt::format("/api/v1/clients/{}/enrollment-tokens", c["id"].get<int64_t>()),
             json{{"label", "e2e"}}, 201);
    return t["token"];
  }
  json Device(int64_t id) {
    return Call("GET", fmt::format("/api/v1/devices/{}", id), nullptr, 200);
  }
  // The current state of (check, target) on the device, or null.
  json Check(int64_t device, const std::string& check, const std::string& target) {
    json d = Device(device);
    for (const auto& c : d["checks"]) {
      if (c["check"] == check && c["target"] == target) {
        return c;
      }
    }
    return nullptr;
  }

 private:
  std::string url_;
  std::string token_;
  net::HttpClient http_;
};

class AgentE2eTest : public E2eTest {
 protected:
  std::string Agent(const std::string& args) const {
    return fmt::format("{} {} --state {} 2>&1", VIGIL_AGENT_PATH, args, (dir_ / "agent").string());
  }
  // Enrolls the agent; returns the device id.
  int64_t Enroll(const std::string& url, const std::string& token) {
    auto [code, out] = Shell(Agent(fmt::format("enroll --server {} --token {}", url, token)));
    EXPECT_EQ(code, 0) << out;
    auto agent_json = dir_ / "agent" / "agent.json";
    struct stat st {};
    EXPECT_EQ(stat(agent_json.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << "the credential must be readable by its owner only";
    std::ifstream in(agent_json);
    return json::parse(in)["device_id"].get<int64_t>();
  }
  // Starts `vigil-agent run` in the background; returns its pid.
  pid_t StartAgent() {
    pid_t pid = fork();
    if (pid == 0) {
      std::string log = (dir_ / "agent.log").string();
      FILE* f = std::fopen(log.c_str(), "a");
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
      std::string state = (dir_ / "agent").string();
      execl(VIGIL_AGENT_PATH, VIGIL_AGENT_PATH, "run", "--state", state.c_str(), nullptr);
      _exit(127);
    }
    return pid;
  }
  static int StopProcess(pid_t pid) {
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string AgentLog() const {
    std::ifstream in(dir_ / "agent.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

std::string LocalTime(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

TEST_F(AgentE2eTest, RealBackupsAndPluginsGoFromOkToCritical) {
  if (!Have("restic") || !Have("borg") || !fs::exists("/usr/lib/nagios/plugins/check_dummy")) {
    GTEST_SKIP()
        << "restic, borg and monitoring-plugins are installed by scripts/install-deps.sh --test";
  }
  // Real repositories: restic with an old snapshot and a fresh one (tagged), borg with one.
  fs::path data = dir_ / "files", restic = dir_ / "restic", borg = dir_ / "borg";
  fs::create_directories(data);
  std::ofstream(data / "invoice.txt") << "important";
  std::ofstream(dir_ / "pw") << "e2e-password\n";
  auto now = std::chrono::system_clock::now();
  std::string r = fmt::format("restic --repo {} --password-file {} -q ", restic.string(),
                              (dir_ / "pw").string());
  ASSERT_EQ(Shell(r + "init 2>&1").first, 0);
  ASSERT_EQ(Shell(r + fmt::format("backup --time '{}' {} 2>&1",
                                  LocalTime(now - std::chrono::hours(72)), data.string()))
                .first,
            0);
  ASSERT_EQ(Shell(r + fmt::format("backup --tag fresh {} 2>&1", data.string())).first, 0);
  ASSERT_EQ(
      Shell(fmt::format("BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes borg init -e none {} 2>&1",
                        borg.string()))
          .first,
      0);
  ASSERT_EQ(Shell(fmt::format("borg create {}::first {} 2>&1", borg.string(), data.string())).first,
            0);

  Vigild v(dir_ / "vigild");
  ASSERT_NE(v.port(), 0) << v.Log();
  OwnerApi api(v.url());
  int64_t device = Enroll(v.url(), api.EnrollmentToken("Acme Dental"));
  json sources = json::array();
  sources.push_back({{"tool", "restic"},
                     {"repository", restic.string()},
                     {"password_file", (dir_ / "pw").string()},
                     {"warn_hours", 26},
                     {"crit_hours", 48}});
  sources.push_back({{"tool", "borg"}, {"repository", borg.string()}});
  const std::string dummy = "/usr/lib/nagios/plugins/check_dummy";
  json plugins = json::array();
  plugins.push_back({{"name", "dummy-ok"}, {"command", json::array({dummy, "0", "fine"})}});
  plugins.push_back({{"name", "dummy-down"}, {"command", json::array({dummy, "2", "down"})}});
  json check_config = {{"backup", {{"sources", sources}}}, {"plugin", {{"plugins", plugins}}}};
  json override_body = {{"override", {{"checks", check_config}}}};
  api.Call("PUT", fmt::format("/api/v1/devices/{}/config", device), override_body, 200);

  auto [code, out] = Shell(Agent("run --once"));
  ASSERT_EQ(code, 0) << out;
  std::string restic_target = "restic:" + restic.string();
  json rb = api.Check(device, "backup", restic_target);
  if (rb.is_null()) {  // the target's spelling is the collector's; find it by check
    FAIL() << "no restic backup result: " << api.Device(device).dump() << "\n" << out;
  }
  EXPECT_EQ(rb["status"], "ok") << rb.dump();
  json dev = api.Device(device);
  std::set<std::string> checks;
  int borg_ok = 0;
  for (const auto& c : dev["checks"]) {
    checks.insert(c["check"].get<std::string>());
    if (c["check"] == "backup" &&
        c["target"].get<std::string>().find("borg") != std::string::npos) {
      borg_ok += c["status"] == "ok";
    }
    if (c["check"] == "plugin" && c["target"] == "dummy-ok") {
      EXPECT_EQ(c["status"], "ok") << c.dump();
    }
    if (c["check"] == "plugin" && c["target"] == "dummy-down") {
      EXPECT_EQ(c["status"], "critical") << c.dump();
      EXPECT_NE(c["message"].get<std::string>().find("down"), std::string::npos) << c.dump();
    }
  }
  EXPECT_EQ(borg_ok, 1) << dev.dump();
  for (const char* want : {"inventory", "cpu", "memory", "disk", "backup", "plugin"}) {
    EXPECT_TRUE(checks.count(want)) << want << " missing from " << dev.dump();
  }
  EXPECT_FALSE(dev["inventory"].is_null());

  // The fresh snapshot goes: the newest good backup is now three days old.
  auto [listed, snapshots] = Shell(r + "snapshots --tag fresh --json");
  ASSERT_EQ(listed, 0) << snapshots;
  json fresh = json::parse(snapshots, nullptr, false);
  ASSERT_TRUE(fresh.is_array() && fresh.size() == 1) << snapshots;
  ASSERT_EQ(Shell(r + "forget " + fresh[0]["id"].get<std::string>() + " 2>&1").first, 0);
  std::tie(code, out) = Shell(Agent("run --once"));
  ASSERT_EQ(code, 0) << out;
  rb = api.Check(device, "backup", restic_target);
  EXPECT_EQ(rb["status"], "critical") << rb.dump();
  auto history =
      api.Call("GET",
               fmt::format("/api/v1/devices/{}/checks/backup/history?resolution=raw&target={}",
                           device, restic_target),
               nullptr, 200);
  ASSERT_GE(history["points"].size(), 2u) << history.dump();
  EXPECT_EQ(history["points"][0]["status"], "ok");
  EXPECT_EQ(history["points"].back()["status"], "critical");

  // A wrong password is reported as the tool's own error, not as a missing backup.
  std::ofstream(dir_ / "pw") << "not-the-password\n";
  std::tie(code, out) = Shell(Agent("run --once"));
  ASSERT_EQ(code, 0) << out;
  rb = api.Check(device, "backup", restic_target);
  EXPECT_EQ(rb["status"], "critical");
  EXPECT_NE(rb["message"].get<std::string>().find("password"), std::string::npos) << rb.dump();
}

TEST_F(AgentE2eTest, OnlineWhileTheWebSocketIsOpenAndRevocationIsImmediate) {
  Vigild v(dir_ / "vigild");
  ASSERT_NE(v.port(), 0) << v.Log();
  OwnerApi api(v.url());
  int64_t device = Enroll(v.url(), api.EnrollmentToken("Acme"));
  pid_t agent = StartAgent();
  bool online = false;
  for (int i = 0; i < 100 && !online; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    online = api.Device(device)["connected"] == true;
  }
  EXPECT_TRUE(online) << AgentLog();
  EXPECT_EQ(StopProcess(agent), 0) << AgentLog();
  bool offline = false;
  for (int i = 0; i < 50 && !offline; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    offline = api.Device(device)["connected"] == false;
  }
  EXPECT_TRUE(offline);

  // Revoked: the agent is refused at once.
  api.Call("DELETE", fmt::format("/api/v1/devices/{}", device), nullptr, 204);
  auto [code, out] = Shell(Agent("run --once"));
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("revoked"), std::string::npos) << out;
}

// vigild dies (SIGKILL) while an agent streams results; the agent spools, vigild comes back on
// the same port, the spool is replayed: every batch arrives, each result is stored exactly once.
TEST_F(AgentE2eTest, SigkillDuringAStreamLosesAndDuplicatesNothing) {
  auto v = std::make_unique<Vigild>(dir_ / "vigild");
  ASSERT_NE(v->port(), 0) << v->Log();
  std::string listen = fmt::format("127.0.0.1:{}", v->port());
  int64_t device = 0;
  {
    OwnerApi api(v->url());
    device = Enroll(v->url(), api.EnrollmentToken("Acme"));
    // Fast intervals for a stream of batches.
    json fast = json::object();
    for (const char* c : {"cpu", "memory", "swap", "disk"}) {
      fast[c] = {{"interval_seconds", 10}, {"timeout_seconds", 5}};
    }
    for (const char* c : {"smart", "updates", "antivirus", "firewall", "services", "certificates",
                          "reachability", "plugin", "backup", "inventory"}) {
      fast[c] = {{"enabled", false}};
    }
    api.Call("PUT", fmt::format("/api/v1/devices/{}/config", device),
             json{{"override", {{"checks", fast}}}}, 200);
  }
  pid_t agent = StartAgent();
  auto stored_batches = [&](const fs::path& db_dir) -> std::vector<std::pair<int64_t, int64_t>> {
    std::vector<std::pair<int64_t, int64_t>> out;
    auto db = storage::OpenDatabase("sqlite://" + (db_dir / "vigil.db").string());
    if (!db) {
      return out;
    }
    (void)(*db)->Read([&](storage::Tx& tx) -> Status {
      auto rows = tx.Query(
          "SELECT sequence, observations FROM device_batches WHERE device_id = ? ORDER BY "
          "sequence",
          {device});
      if (rows) {
        for (const auto& row : *rows) {
          out.emplace_back(row.Int(0), row.Int(1));
        }
      }
      return Status::Ok();
    });
    return out;
  };
  // Let a few batches through, then kill vigild in the middle of the stream.
  std::this_thread::sleep_for(seconds(12));
  v->Kill();
  size_t before_kill = stored_batches(dir_ / "vigild").size();
  EXPECT_GE(before_kill, 1u) << AgentLog();
  // The agent keeps collecting and spools while vigild is gone.
  std::this_thread::sleep_for(seconds(12));
  v = std::make_unique<Vigild>(dir_ / "vigild", listen);
  ASSERT_NE(v->port(), 0) << v->Log();
  // Wait for the replay: the backoff after 12 s of failures is at most 16 s.
  std::this_thread::sleep_for(seconds(20));
  EXPECT_EQ(StopProcess(agent), 0) << AgentLog();
  // Whatever the last round left in the spool goes now.
  auto [code, out] = Shell(Agent("run --once"));
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(v->Stop(), 0);

  auto batches = stored_batches(dir_ / "vigild");
  ASSERT_GT(batches.size(), before_kill + 1) << AgentLog();
  // Every sequence from 1 on arrived (nothing lost), each once (the primary key).
  for (size_t i = 0; i < batches.size(); ++i) {
    EXPECT_EQ(batches[i].first, static_cast<int64_t>(i + 1)) << "sequence missing";
  }
  // Each stored batch's results are stored exactly once.
  int64_t expected = 0;
  for (const auto& b : batches) {
    expected += b.second;
  }
  int64_t results = -1;
  auto db = storage::OpenDatabase("sqlite://" + (dir_ / "vigild" / "vigil.db").string());
  ASSERT_TRUE(db.has_value());
  ASSERT_TRUE((*db)
                  ->Read([&](storage::Tx& tx) -> Status {
                    auto rows = tx.Query(
                        "SELECT SUM(results) FROM check_results WHERE device_id = ?", {device});
                    results = rows ? (*rows)[0].Int(0) : -1;
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(results, expected);
  EXPECT_GT(results, 0);
  // Nothing is left in the agent's spool: every batch was acknowledged.
  int spooled = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "agent" / "spool")) {
    spooled += e.path().extension() == ".batch";
  }
  EXPECT_EQ(spooled, 0);
}

}  // namespace
}  // namespace vigil::testing
