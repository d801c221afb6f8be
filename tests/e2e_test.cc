// The three programs as a user runs them: vigild started as a process on a free port, the vigil CLI
// against it, vigild --backup of the live store, and a graceful stop on SIGTERM.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "e2e_util.h"
#include "net/http_client.h"
#include "storage/database.h"

namespace vigil::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST_F(E2eTest, ProgramsAnswerHelpAndVersion) {
  for (const char* bin : {VIGILD_PATH, VIGIL_CLI_PATH, VIGIL_AGENT_PATH}) {
    auto [code, out] = Shell(std::string(bin) + " --version");
    EXPECT_EQ(code, 0) << bin;
    EXPECT_NE(out.find("0.1.0"), std::string::npos) << out;
    auto [hcode, help] = Shell(std::string(bin) + " --help");
    EXPECT_EQ(hcode, 0) << bin;
    EXPECT_NE(help.find("--version"), std::string::npos) << help;
  }
}

TEST_F(E2eTest, ServeUseWithTheCliBackUpAndStopGracefully) {
  Vigild d(dir_ / "data");
  ASSERT_GT(d.port(), 0) << d.Log();
  net::HttpClient http;
  auto health = http.Send("GET", d.url() + "/healthz", {});
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  auto metrics = http.Send("GET", d.url() + "/metrics", {});
  EXPECT_NE(metrics->body.find("vigil_http_requests_total"), std::string::npos);
  auto doc = http.Send("GET", d.url() + "/api/v1/openapi.json", {});
  EXPECT_EQ(json::parse(doc->body)["openapi"], "3.1.0");

  // The CLI: log in (creates and stores an API token), create and list clients.
  auto [login, login_out] = Shell(
      "printf '%s' '" + std::string(kPassword) + "' | " +
      Cli("login --server " + d.url() + " --email owner@vigil.localhost --password-stdin 2>&1"));
  ASSERT_EQ(login, 0) << login_out;
  EXPECT_EQ(fs::status(dir_ / "cli.json").permissions() & fs::perms::others_read, fs::perms::none);
  auto [create, create_out] =
      Shell(Cli("clients create --name 'Acme Dental' --timezone "
                "Europe/Berlin --employees 12 2>&1"));
  EXPECT_EQ(create, 0) << create_out;
  auto [dup, dup_out] = Shell(Cli("clients create --name 'acme dental' 2>&1"));
  EXPECT_EQ(dup, 6) << dup_out;  // conflict
  EXPECT_NE(dup_out.find("name"), std::string::npos) << dup_out;
  EXPECT_EQ(std::count(dup_out.begin(), dup_out.end(), '\n'), 1) << "one clear line: " << dup_out;
  auto [list, list_out] = Shell(Cli("--json clients list"));
  ASSERT_EQ(list, 0) << list_out;
  auto listed = json::parse(list_out);
  ASSERT_EQ(listed["total"], 1);
  EXPECT_EQ(listed["items"][0]["name"], "Acme Dental");
  auto [table, table_out] = Shell(Cli("clients list"));
  EXPECT_NE(table_out.find("Acme Dental"), std::string::npos) << table_out;
  auto [missing, missing_out] = Shell(Cli("clients show 999 2>&1"));
  EXPECT_EQ(missing, 5) << missing_out;

  // A consistent copy of the live store, taken by a second process while the first serves.
  fs::path copy = dir_ / "copy.db";
  auto [backup, backup_out] =
      Shell(std::string(VIGILD_PATH) + " --data " + (dir_ / "data").string() + " --backup " +
            copy.string() + " 2>&1");
  ASSERT_EQ(backup, 0) << backup_out;
  {
    auto db = storage::OpenDatabase(copy.string());
    ASSERT_TRUE(db.has_value()) << db.status().ToString();
    int64_t n = 0;
    ASSERT_TRUE((*db)
                    ->Read([&](storage::Tx& tx) -> Status {
                      VIGIL_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT COUNT(*) FROM clients"));
                      n = rows[0].Int(0);
                      return Status::Ok();
                    })
                    .ok());
    EXPECT_EQ(n, 1);
  }
  auto [api_backup, api_backup_out] = Shell(Cli("backup 2>&1"));
  EXPECT_EQ(api_backup, 0) << api_backup_out;

  EXPECT_EQ(d.Stop(), 0) << d.Log();
  EXPECT_NE(d.Log().find("\"msg\":\"vigild stopped\""), std::string::npos) << d.Log();

  // Restore: a vigild started on the copy serves the same data.
  fs::create_directories(dir_ / "restored");
  fs::copy_file(copy, dir_ / "restored" / "vigil.db");
  Vigild restored(dir_ / "restored");
  ASSERT_GT(restored.port(), 0) << restored.Log();
  // The CLI's token was saved for the first server's URL; the restored store knows it too.
  std::ifstream cfg(dir_ / "cli.json");
  std::string token = json::parse(cfg)["token"];
  auto [again, again_out] =
      Shell(Cli("--server " + restored.url() + " --token " + token + " --json clients list"));
  ASSERT_EQ(again, 0) << again_out;
  EXPECT_EQ(json::parse(again_out)["items"][0]["name"], "Acme Dental");
}

TEST_F(E2eTest, AgentChecksRecordedToolOutputs) {
  std::string agent = std::string(VIGIL_AGENT_PATH) + " check ";
  std::string data = std::string(VIGIL_SOURCE_DIR) + "/src/agent/checks/testdata/";
  auto [crit, crit_out] =
      Shell(agent + "plugin --exit-code 2 --input " + data + "plugin_load_crit_exit2.txt");
  EXPECT_EQ(crit, 2) << crit_out;
  EXPECT_NE(crit_out.find("CRITICAL - LOAD CRITICAL"), std::string::npos) << crit_out;
  EXPECT_NE(crit_out.find("load1"), std::string::npos) << crit_out;
  // An old restic listing: the newest snapshot is older than a day by now.
  auto [backup, backup_out] = Shell(agent + "backup --tool restic --warn-hours 1 --crit-hours 2 " +
                                    "--input " + data + "backup_restic_snapshots.json");
  EXPECT_GE(backup, 0) << backup_out;
  EXPECT_NE(backup_out.find("backup.age_seconds"), std::string::npos) << backup_out;
  fs::path bad = dir_ / "bad.json";
  std::ofstream(bad) << "{\"smartctl\": [";
  auto [refused, refused_out] = Shell(agent + "smart --input " + bad.string() + " 2>&1");
  EXPECT_EQ(refused, 64) << refused_out;
  EXPECT_NE(refused_out.find("not valid JSON"), std::string::npos) << refused_out;
}

TEST_F(E2eTest, ReadsOptionsFromAConfigFile) {
  fs::path data = dir_ / "data";
  fs::path cfg = dir_ / "vigild.ini";
  {
    std::ofstream out(cfg);
    out << "# vigild options\ndata = \"" << data.string() << "\"\nlog-format = \"json\"\n";
  }
  fs::create_directories(data);
  ASSERT_TRUE(storage::OpenDatabase((data / "vigil.db").string()).has_value());
  auto [code, out] = Shell(std::string(VIGILD_PATH) + " --config " + cfg.string() + " --backup " +
                           (dir_ / "copy.db").string() + " 2>&1");
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(fs::exists(dir_ / "copy.db")) << out;
  auto [none, none_out] = Shell(std::string(VIGILD_PATH) + " --data " + (dir_ / "empty").string() +
                                " --backup " + (dir_ / "x.db").string() + " 2>&1");
  EXPECT_EQ(none, 1);
  EXPECT_NE(none_out.find("no Vigil store at"), std::string::npos) << none_out;
  auto [bad, bad_out] =
      Shell(std::string(VIGILD_PATH) + " --listen nonsense --data " + data.string() + " 2>&1");
  EXPECT_NE(bad, 0);
  EXPECT_NE(bad_out.find("nonsense"), std::string::npos) << bad_out;
}

TEST_F(E2eTest, RefusesAStoreFromTheFuture) {
  fs::path db = dir_ / "future.db";
  {
    auto opened = storage::OpenDatabase(db.string());
    ASSERT_TRUE(opened.has_value());
    ASSERT_TRUE((*opened)
                    ->Write([](storage::Tx& tx) {
                      return tx
                          .Exec(
                              "INSERT INTO schema_version (version, name, applied_at_ms) "
                              "VALUES (9999, 'from the future', 0)")
                          .status();
                    })
                    .ok());
  }
  auto [code, out] = Shell(std::string(VIGILD_PATH) + " --store sqlite://" + db.string() +
                           " --listen 127.0.0.1:0 2>&1");
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("9999"), std::string::npos) << out;
}

}  // namespace
}  // namespace vigil::testing
