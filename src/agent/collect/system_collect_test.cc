// Tests of the updates, antivirus, firewall, services, certificates and reachability collectors:
// with a recorded ToolRunner and a folder of recorded files (SystemPaths::root), and against this
// machine's real tools where they exist (apt-get, nft, ping, openssl). systemd does not run here,
// so systemctl outputs are hand-written in systemd 252's format.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/collect/collector.h"
#include "agent/collect/linux_collectors.h"
#include "agent/collect/tool_runner.h"
#include "core/json.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;
using proto::CheckResult;
using proto::CheckStatus;
using std::chrono::milliseconds;

fs::path SystemTestdata() {
  return fs::path(__FILE__).parent_path().parent_path() / "checks" / "testdata" / "system";
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing " << p;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& p, std::string_view content) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << content;
}

const proto::Metric* FindMetric(const CheckResult& r, std::string_view name) {
  for (const auto& m : r.metrics) {
    if (m.name == name) {
      return &m;
    }
  }
  return nullptr;
}

TimePoint At(std::string_view rfc3339) { return ParseRfc3339(rfc3339).value(); }

void SetMtime(const fs::path& p, TimePoint t) {
  auto sys = std::chrono::time_point_cast<std::chrono::system_clock::duration>(t);
  fs::last_write_time(p, std::chrono::file_clock::from_sys(sys));
}

// A fresh temporary folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "vigil-syscollect-XXXXXX").string();
    VIGIL_CHECK(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A ToolRunner that answers from recorded outputs keyed by the whole command line ("nft -j list
// ruleset"); unknown programs are kNotFound. Records every request.
class RecordedRunner final : public ToolRunner {
 public:
  void Add(std::string command, ToolOutput out) { outputs_[std::move(command)] = std::move(out); }
  void AddOut(std::string command, std::string out, int exit_code = 0) {
    Add(std::move(command), ToolOutput{.exit_code = exit_code, .out = std::move(out)});
  }

  Result<ToolOutput> Run(const ToolRequest& request) const override {
    std::string command;
    for (const auto& a : request.argv) {
      command += (command.empty() ? "" : " ") + a;
    }
    std::lock_guard lock(mu_);
    requests_.push_back(request);
    auto it = outputs_.find(command);
    if (it == outputs_.end()) {
      return NotFound(command + ": not recorded");
    }
    return it->second;
  }

  std::vector<std::string> Commands() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& r : requests_) {
      std::string c;
      for (const auto& a : r.argv) {
        c += (c.empty() ? "" : " ") + a;
      }
      out.push_back(c);
    }
    return out;
  }
  std::vector<ToolRequest> Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  std::map<std::string, ToolOutput> outputs_;
  mutable std::mutex mu_;
  mutable std::vector<ToolRequest> requests_;
};

constexpr char kApt[] = "apt-get -s -o Debug::NoLocking=1 dist-upgrade";

std::vector<CheckResult> CollectAt(Collector& c, const proto::AgentConfig& config,
                                   const ToolRunner& tools, const fs::path& root, TimePoint now,
                                   milliseconds timeout = milliseconds(20'000)) {
  SystemPaths paths{.root = root.string()};
  CollectContext ctx{now, timeout, config, tools, paths};
  return c.Collect(ctx);
}

// --- updates ---

TEST(UpdatesCollectorTest, RecordedAptRebootAndStamp) {
  TempDir root;
  RecordedRunner tools;
  tools.AddOut(kApt, ReadFile(SystemTestdata() / "apt_dist_upgrade_debian12.txt"));
  WriteFile(root.path() / "var/run/reboot-required", "*** System restart required ***\n");
  WriteFile(root.path() / "var/run/reboot-required.pkgs",
            ReadFile(SystemTestdata() / "reboot_required_pkgs.txt"));
  WriteFile(root.path() / "var/lib/apt/periodic/update-success-stamp", "");
  SetMtime(root.path() / "var/lib/apt/periodic/update-success-stamp", At("2026-11-01T00:00:00Z"));
  auto c = MakeUpdatesCollector();
  EXPECT_EQ(c->name(), "updates");
  proto::AgentConfig config;
  auto results = CollectAt(*c, config, tools, root.path(), At("2026-11-22T00:00:00Z"));
  ASSERT_EQ(results.size(), 1u);
  CheckResult r = results[0];
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message,
            "131 updates pending (82 security); reboot required; package lists last updated 21 "
            "days ago");
  EXPECT_EQ(r.details.at("reboot_packages"), "linux-image-6.1.0-27-amd64, libc6");
  EXPECT_EQ(FindMetric(r, "updates.days_since_update")->value, 21);
  ASSERT_EQ(tools.Requests().size(), 1u);
  EXPECT_EQ(tools.Requests()[0].timeout, milliseconds(20'000));

  config.updates_crit_security = 0;
  config.updates_warn_pending = 0;
  fs::remove(root.path() / "var/run/reboot-required");
  SetMtime(root.path() / "var/lib/apt/periodic/update-success-stamp", At("2026-11-21T00:00:00Z"));
  r = CollectAt(*c, config, tools, root.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.message, "131 updates pending (82 security)");
}

TEST(UpdatesCollectorTest, FallsBackToTheListsWhenThereIsNoStamp) {
  TempDir root;
  RecordedRunner tools;
  tools.AddOut(kApt, ReadFile(SystemTestdata() / "apt_up_to_date.txt"));
  auto lists = root.path() / "var/lib/apt/lists";
  fs::create_directories(lists / "partial");
  SetMtime(lists / "partial", At("2026-11-02T00:00:00Z"));
  WriteFile(lists / "deb.debian.org_debian_dists_bookworm_InRelease", "x");
  SetMtime(lists / "deb.debian.org_debian_dists_bookworm_InRelease", At("2026-11-20T00:00:00Z"));
  WriteFile(lists / "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4", "x");
  SetMtime(lists / "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
           At("2026-11-21T12:00:00Z"));  // not an InRelease file: ignored
  auto c = MakeUpdatesCollector();
  auto r = CollectAt(*c, {}, tools, root.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.message, "no updates pending");
  EXPECT_EQ(r.details.at("last_update"), "2026-11-20T00:00:00.000Z");

  TempDir empty;
  r = CollectAt(*c, {}, tools, empty.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message, "no updates pending; package lists never updated");
}

TEST(UpdatesCollectorTest, NoAptAndFailures) {
  TempDir root;
  auto c = MakeUpdatesCollector();
  RecordedRunner none;
  auto r = CollectAt(*c, {}, none, root.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kUnknown);
  EXPECT_EQ(r.message, "apt not found");

  RecordedRunner failing;
  failing.Add(kApt, {.exit_code = 100,
                     .err = "E: Could not open lock file /var/lib/dpkg/lock-frontend - open (13: "
                            "Permission denied)\n"});
  r = CollectAt(*c, {}, failing, root.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kUnknown);
  EXPECT_EQ(r.message,
            "apt-get -s dist-upgrade failed (exit code 100): E: Could not open lock file "
            "/var/lib/dpkg/lock-frontend - open (13: Permission denied)");

  RecordedRunner slow;
  slow.Add(kApt, {.exit_code = -1, .timed_out = true});
  r = CollectAt(*c, {}, slow, root.path(), At("2026-11-22T00:00:00Z"), milliseconds(120'000)).at(0);
  EXPECT_EQ(r.message, "apt-get -s dist-upgrade timed out after 120 s");

  RecordedRunner hostile;
  hostile.AddOut(kApt, "Inst \n");
  r = CollectAt(*c, {}, hostile, root.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kUnknown);
  EXPECT_EQ(r.message, "cannot parse apt-get output: apt-get line 1: no package name");
}

TEST(UpdatesCollectorTest, RealAptGetOnThisMachine) {
  auto runner = MakeProcessRunner();
  auto c = MakeUpdatesCollector();
  SystemClock clock;
  auto results = CollectAt(*c, {}, *runner, "/", clock.Now(), milliseconds(120'000));
  ASSERT_EQ(results.size(), 1u);
  if (results[0].message == "apt not found") {
    GTEST_SKIP() << "no apt-get here";
  }
  EXPECT_NE(results[0].status, CheckStatus::kUnknown) << results[0].message;
  ASSERT_NE(FindMetric(results[0], "updates.pending"), nullptr);
  EXPECT_GE(FindMetric(results[0], "updates.pending")->value,
            FindMetric(results[0], "updates.security")->value);
}

// --- antivirus ---

TEST(AntivirusCollectorTest, ThisMachineHasNoClamav) {
  auto runner = MakeProcessRunner();
  auto c = MakeAntivirusCollector();
  EXPECT_EQ(c->name(), "antivirus");
  proto::AgentConfig config;
  if (fs::exists(config.antivirus_database_dir) || fs::exists("/usr/bin/clamscan")) {
    GTEST_SKIP() << "ClamAV is installed here";
  }
  SystemClock clock;
  auto r = CollectAt(*c, config, *runner, "/", clock.Now()).at(0);
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message, "no antivirus present");
  config.antivirus_required = false;
  EXPECT_EQ(CollectAt(*c, config, *runner, "/", clock.Now()).at(0).status, CheckStatus::kOk);
}

TEST(AntivirusCollectorTest, ClamavWithoutSystemdUsesProcessNames) {
  TempDir root;
  WriteFile(root.path() / "var/lib/clamav/daily.cld",
            ReadFile(SystemTestdata() / "clamav_daily_cld_header.bin") + std::string(4096, 'x'));
  WriteFile(root.path() / "var/lib/clamav/main.cvd", "junk");
  WriteFile(root.path() / "usr/sbin/clamd", "");
  WriteFile(root.path() / "usr/bin/freshclam", "");
  WriteFile(root.path() / "proc/412/comm", "clamd\n");
  WriteFile(root.path() / "proc/1/comm", "init\n");
  WriteFile(root.path() / "proc/self/comm", "freshclam\n");  // not a pid folder: ignored
  RecordedRunner tools;
  auto c = MakeAntivirusCollector();
  auto r = CollectAt(*c, {}, tools, root.path(), At("2026-11-22T20:23:00Z")).at(0);
  EXPECT_EQ(r.target, "clamav");
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message, "signatures 12 h old (daily 27100); updater (freshclam) not running");
  EXPECT_EQ(r.details.at("scanner"), "running");
  EXPECT_EQ(r.details.at("updater"), "stopped");
  EXPECT_EQ(r.details.at("database_file"), "/var/lib/clamav/daily.cld");
  EXPECT_TRUE(tools.Commands().empty());  // no systemctl without systemd

  WriteFile(root.path() / "proc/977/comm", "freshclam\n");
  r = CollectAt(*c, {}, tools, root.path(), At("2026-11-30T20:23:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message, "signatures 8 d old (daily 27100)");
}

TEST(AntivirusCollectorTest, ClamavWithSystemdAndABrokenDatabase) {
  TempDir root;
  fs::create_directories(root.path() / "run/systemd/system");
  WriteFile(root.path() / "srv/clamav/daily.cvd", "<html>404 Not Found</html>");
  WriteFile(root.path() / "usr/sbin/clamd", "");
  RecordedRunner tools;
  tools.AddOut("systemctl is-active -- clamav-daemon.service", "failed\n", 3);
  auto c = MakeAntivirusCollector();
  proto::AgentConfig config;
  config.antivirus_database_dir = "/srv/clamav";
  auto r = CollectAt(*c, config, tools, root.path(), At("2026-11-22T20:23:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message,
            "ClamAV signatures unreadable: not a ClamAV database (no \"ClamAV-VDB:\" header)");
  EXPECT_EQ(r.details.at("scanner"), "stopped");
  EXPECT_EQ(r.details.at("updater"), "not installed");
  EXPECT_EQ(tools.Commands(),
            (std::vector<std::string>{"systemctl is-active -- clamav-daemon.service"}));
}

// --- firewall ---

TEST(FirewallCollectorTest, RecordedNftRulesets) {
  TempDir root;
  auto c = MakeFirewallCollector();
  EXPECT_EQ(c->name(), "firewall");
  RecordedRunner drop;
  drop.AddOut("nft -j list ruleset", ReadFile(SystemTestdata() / "nft_server_drop.json"));
  auto r = CollectAt(*c, {}, drop, root.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.target, "nftables");

  RecordedRunner empty;
  empty.AddOut("nft -j list ruleset", ReadFile(SystemTestdata() / "nft_empty.json"));
  r = CollectAt(*c, {}, empty, root.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  proto::AgentConfig lax;
  lax.firewall_required = false;
  EXPECT_EQ(CollectAt(*c, lax, empty, root.path(), At("2026-11-22T00:00:00Z")).at(0).status,
            CheckStatus::kWarning);

  RecordedRunner denied;
  denied.Add("nft -j list ruleset",
             {.exit_code = 1,
              .err = "Error: Could not process rule: Operation not permitted\nlist ruleset\n"});
  r = CollectAt(*c, {}, denied, root.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kUnknown);
  EXPECT_EQ(r.message,
            "nft failed (exit code 1): Error: Could not process rule: Operation not permitted");

  RecordedRunner garbage;
  garbage.AddOut("nft -j list ruleset", "{\"nftables\": 1}");
  r = CollectAt(*c, {}, garbage, root.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kUnknown);
}

TEST(FirewallCollectorTest, IptablesWhenNftIsAbsentAndUfw) {
  TempDir root;
  auto c = MakeFirewallCollector();
  RecordedRunner tools;
  tools.AddOut("iptables-save", ReadFile(SystemTestdata() / "iptables_save_server.txt"));
  tools.AddOut("ufw status", ReadFile(SystemTestdata() / "ufw_status_inactive.txt"));
  auto r = CollectAt(*c, {}, tools, root.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.target, "iptables");
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.details.count("ufw"), 0u);  // no ufw.conf: ufw is not installed

  WriteFile(root.path() / "etc/ufw/ufw.conf", ReadFile(SystemTestdata() / "ufw_conf_enabled.txt"));
  r = CollectAt(*c, {}, tools, root.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.details.at("ufw"), "inactive, enabled in ufw.conf");
  EXPECT_EQ(tools.Commands().back(), "ufw status");

  RecordedRunner docker;
  docker.AddOut("iptables-save", ReadFile(SystemTestdata() / "iptables_save_docker_open.txt"));
  r = CollectAt(*c, {}, docker, root.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kCritical);

  RecordedRunner none;
  r = CollectAt(*c, {}, none, root.path(), At("2026-11-22T00:00:00Z")).at(0);
  EXPECT_EQ(r.status, CheckStatus::kUnknown);
  EXPECT_EQ(r.message, "no firewall tool found (nft, iptables-save)");
}

// Loads a real ruleset with nft (as root), runs the collector against it and removes it again.
// Skipped where nft is absent or not permitted.
TEST(FirewallCollectorTest, RealNftRuleset) {
  auto runner = MakeProcessRunner();
  auto nft = [&](std::vector<std::string> args, std::string* out = nullptr) {
    ToolRequest req;
    req.argv = {"nft"};
    req.argv.insert(req.argv.end(), args.begin(), args.end());
    req.timeout = milliseconds(10'000);
    auto o = runner->Run(req);
    if (o && out) {
      *out = o->out;
    }
    return o && o->exit_code == 0;
  };
  TempDir dir;
  WriteFile(dir.path() / "rules.nft",
            "table inet vigil_sc_test {\n"
            "  chain input {\n"
            "    type filter hook input priority 0; policy accept;\n"
            "    iif \"lo\" accept\n"
            "    ct state established,related accept\n"
            "    tcp dport 22 accept\n"
            "    tcp dport 0-65535 counter\n"
            "  }\n"
            "}\n");
  std::string before;
  if (!nft({"-j", "list", "ruleset"}, &before)) {
    GTEST_SKIP() << "nft is not available or not permitted here";
  }
  bool had_rules = before.find("\"rule\"") != std::string::npos;
  ASSERT_TRUE(nft({"-f", (dir.path() / "rules.nft").string()}));
  auto c = MakeFirewallCollector();
  SystemClock clock;
  auto r = CollectAt(*c, {}, *runner, "/", clock.Now()).at(0);
  EXPECT_TRUE(nft({"delete", "table", "inet", "vigil_sc_test"}));
  EXPECT_EQ(r.target, "nftables");
  EXPECT_EQ(r.status, CheckStatus::kOk) << r.message;
  EXPECT_NE(r.details.at("input_policy").find("inet vigil_sc_test input: accept (4 rules)"),
            std::string::npos)
      << r.details.at("input_policy");
  if (!had_rules) {
    // Back to the machine's empty ruleset.
    r = CollectAt(*c, {}, *runner, "/", clock.Now()).at(0);
    EXPECT_EQ(r.status, CheckStatus::kCritical) << r.message;
  }
}

// --- services ---

constexpr char kShow[] = "systemctl show -p LoadState -p ActiveState -p SubState -- ";
constexpr char kFailed[] = "systemctl list-units --state=failed --plain --no-legend --no-pager";

TEST(ServicesCollectorTest, WithoutSystemdIsUnknown) {
  TempDir root;
  RecordedRunner tools;
  auto c = MakeServicesCollector();
  EXPECT_EQ(c->name(), "services");
  proto::AgentConfig config;
  config.services_units = {"nginx.service"};
  auto results = CollectAt(*c, config, tools, root.path(), At("2026-11-22T00:00:00Z"));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, CheckStatus::kUnknown);
  EXPECT_EQ(results[0].message, "systemd is not running");
  EXPECT_TRUE(tools.Commands().empty());
  // This build machine has no systemd as PID 1 either.
  if (!fs::exists("/run/systemd/system")) {
    auto runner = MakeProcessRunner();
    SystemClock clock;
    auto real = CollectAt(*c, config, *runner, "/", clock.Now());
    ASSERT_EQ(real.size(), 1u);
    EXPECT_EQ(real[0].message, "systemd is not running");
  }
}

TEST(ServicesCollectorTest, RecordedSystemctl) {
  TempDir root;
  fs::create_directories(root.path() / "run/systemd/system");
  RecordedRunner tools;
  tools.AddOut(std::string(kShow) + "nginx.service",
               ReadFile(SystemTestdata() / "systemctl_show_failed.txt"));
  tools.AddOut(std::string(kShow) + "ssh.service",
               ReadFile(SystemTestdata() / "systemctl_show_active.txt"));
  tools.AddOut(std::string(kShow) + "nope.service",
               ReadFile(SystemTestdata() / "systemctl_show_not_found.txt"));
  tools.AddOut(kFailed, ReadFile(SystemTestdata() / "systemctl_failed_units.txt"));
  proto::AgentConfig config;
  config.services_units = {"ssh.service", "nginx.service", "nope.service", "--no-block",
                           "x;reboot"};
  auto c = MakeServicesCollector();
  auto results = CollectAt(*c, config, tools, root.path(), At("2026-11-22T00:00:00Z"));
  ASSERT_EQ(results.size(), 6u);
  EXPECT_EQ(results[0].target, "ssh.service");
  EXPECT_EQ(results[0].status, CheckStatus::kOk);
  EXPECT_EQ(results[1].status, CheckStatus::kCritical);
  EXPECT_EQ(results[1].message, "nginx.service is failed (failed)");
  EXPECT_EQ(results[2].message, "nope.service not found");
  EXPECT_EQ(results[3].status, CheckStatus::kUnknown);
  EXPECT_EQ(results[3].message, "invalid unit name");
  EXPECT_EQ(results[4].message, "invalid unit name");
  EXPECT_EQ(results[5].target, "");
  EXPECT_EQ(results[5].status, CheckStatus::kWarning);
  EXPECT_EQ(results[5].message, "2 failed units: logrotate.service, nginx.service");
  // Invalid names never reach systemctl.
  for (const auto& cmd : tools.Commands()) {
    EXPECT_EQ(cmd.find("reboot"), std::string::npos);
    EXPECT_EQ(cmd.find("--no-block"), std::string::npos);
  }
  EXPECT_EQ(tools.Commands().size(), 4u);

  config.services_max_failed = 2;
  config.services_units.clear();
  results = CollectAt(*c, config, tools, root.path(), At("2026-11-22T00:00:00Z"));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, CheckStatus::kOk);

  RecordedRunner broken;
  broken.Add(kFailed,
             {.exit_code = 1, .err = "Failed to connect to bus: No such file or directory\n"});
  results = CollectAt(*c, config, broken, root.path(), At("2026-11-22T00:00:00Z"));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, CheckStatus::kUnknown);
  EXPECT_EQ(results[0].message,
            "systemctl failed (exit code 1): Failed to connect to bus: No such file or directory");
}

// --- certificates ---

// Generates a self-signed certificate and key with `openssl req -x509 -days N` into `dir`.
bool MakeCertificate(const ToolRunner& runner, const fs::path& dir, const std::string& name,
                     int days) {
  ToolRequest req;
  req.argv = {"openssl",
              "req",
              "-x509",
              "-newkey",
              "ec",
              "-pkeyopt",
              "ec_paramgen_curve:prime256v1",
              "-nodes",
              "-keyout",
              (dir / (name + ".key")).string(),
              "-out",
              (dir / (name + ".pem")).string(),
              "-days",
              std::to_string(days),
              "-subj",
              "/CN=" + name};
  req.timeout = milliseconds(20'000);
  auto out = runner.Run(req);
  return out && out->exit_code == 0;
}

TEST(CertificatesCollectorTest, Files) {
  auto runner = MakeProcessRunner();
  TempDir root;
  fs::create_directories(root.path() / "etc/ssl");
  if (!MakeCertificate(*runner, root.path() / "etc/ssl", "soon.example.test", 5) ||
      !MakeCertificate(*runner, root.path() / "etc/ssl", "later.example.test", 400)) {
    GTEST_SKIP() << "openssl is not available";
  }
  WriteFile(root.path() / "etc/ssl/chain.pem",
            ReadFile(root.path() / "etc/ssl/later.example.test.pem") +
                ReadFile(root.path() / "etc/ssl/soon.example.test.pem"));
  WriteFile(root.path() / "etc/ssl/junk.pem", "not a certificate");
  proto::AgentConfig config;
  config.certificate_files = {"/etc/ssl/soon.example.test.pem", "/etc/ssl/chain.pem",
                              "/etc/ssl/junk.pem", "/etc/ssl/missing.pem"};
  auto c = MakeCertificatesCollector();
  EXPECT_EQ(c->name(), "certificates");
  SystemClock clock;
  auto results = CollectAt(*c, config, *runner, root.path(), clock.Now());
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].target, "/etc/ssl/soon.example.test.pem");
  EXPECT_EQ(results[0].status, CheckStatus::kCritical);
  EXPECT_NE(results[0].message.find("CN=soon.example.test expires in 4 days"), std::string::npos)
      << results[0].message;
  EXPECT_EQ(results[1].status, CheckStatus::kOk);  // the first certificate of the chain
  EXPECT_EQ(results[1].details.at("subject"), "CN=later.example.test");
  EXPECT_EQ(results[2].status, CheckStatus::kUnknown);
  EXPECT_EQ(results[2].message, "/etc/ssl/junk.pem: no PEM certificate found");
  EXPECT_EQ(results[3].status, CheckStatus::kUnknown);
  EXPECT_EQ(results[3].message, "cannot read /etc/ssl/missing.pem: No such file or directory");
}

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool CanConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

// `openssl s_server` on a loopback port, killed (by its pid) on destruction.
class TlsServer {
 public:
  TlsServer(const fs::path& cert, const fs::path& key) : port_(FreePort()) {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string accept = "127.0.0.1:" + std::to_string(port_);
      std::freopen("/dev/null", "w", stdout);
      std::freopen("/dev/null", "w", stderr);
      ::execlp("openssl", "openssl", "s_server", "-quiet", "-accept", accept.c_str(), "-cert",
               cert.c_str(), "-key", key.c_str(), "-www", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 100 && !CanConnect(port_); ++i) {
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  ~TlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  bool ready() const { return pid_ > 0 && CanConnect(port_); }

 private:
  int port_;
  pid_t pid_ = -1;
};

TEST(CertificatesCollectorTest, EndpointAgainstOpensslSServer) {
  auto runner = MakeProcessRunner();
  TempDir dir;
  if (!MakeCertificate(*runner, dir.path(), "localhost", 10)) {
    GTEST_SKIP() << "openssl is not available";
  }
  TlsServer server(dir.path() / "localhost.pem", dir.path() / "localhost.key");
  if (!server.ready()) {
    GTEST_SKIP() << "openssl s_server did not start";
  }
  int closed = FreePort();
  proto::AgentConfig config;
  config.certificate_endpoints = {
      "localhost:" + std::to_string(server.port()), "127.0.0.1:" + std::to_string(server.port()),
      "127.0.0.1:" + std::to_string(closed), "nonsense", "-oProxyCommand=x:443"};
  auto c = MakeCertificatesCollector();
  SystemClock clock;
  auto results = CollectAt(*c, config, *runner, "/", clock.Now(), milliseconds(10'000));
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].target, config.certificate_endpoints[0]);
  EXPECT_EQ(results[0].status, CheckStatus::kWarning) << results[0].message;
  EXPECT_NE(results[0].message.find("CN=localhost expires in 9 days"), std::string::npos)
      << results[0].message;
  EXPECT_EQ(results[1].status, CheckStatus::kWarning) << results[1].message;
  EXPECT_EQ(results[2].status, CheckStatus::kUnknown);
  EXPECT_NE(results[2].message.find("Connection refused"), std::string::npos) << results[2].message;
  EXPECT_EQ(results[3].message, "nonsense: not a valid host:port");
  EXPECT_EQ(results[4].status, CheckStatus::kUnknown);
}

TEST(CertificatesCollectorTest, EndpointThatNeverHandshakesTimesOut) {
  // A listening socket that accepts (in the kernel backlog) but never speaks TLS.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  proto::AgentConfig config;
  config.certificate_endpoints = {"127.0.0.1:" + std::to_string(ntohs(addr.sin_port))};
  RecordedRunner tools;
  auto c = MakeCertificatesCollector();
  auto start = std::chrono::steady_clock::now();
  auto r = CollectAt(*c, config, tools, "/", At("2026-11-22T00:00:00Z"), milliseconds(700)).at(0);
  auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  EXPECT_EQ(r.status, CheckStatus::kUnknown);
  EXPECT_NE(r.message.find("timed out"), std::string::npos) << r.message;
  EXPECT_LT(took, milliseconds(3000));
}

// --- reachability ---

// A loopback HTTP server answering every request with `status`, on its own thread.
class TinyHttpServer {
 public:
  explicit TinyHttpServer(int status) : status_(status) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    VIGIL_CHECK(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    VIGIL_CHECK(::listen(fd_, 8) == 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0 || stop_) {
          if (c >= 0) {
            ::close(c);
          }
          return;
        }
        char buf[4096];
        std::string req;
        while (req.find("\r\n\r\n") == std::string::npos) {
          ssize_t n = ::recv(c, buf, sizeof(buf), 0);
          if (n <= 0) {
            break;
          }
          req.append(buf, static_cast<size_t>(n));
        }
        std::string resp = "HTTP/1.1 " + std::to_string(status_) +
                           " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";
        ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~TinyHttpServer() {
    stop_ = true;
    CanConnect(port_);  // wakes accept()
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int status_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(ReachabilityCollectorTest, TcpAndHttpOnLoopback) {
  TinyHttpServer ok(404);
  TinyHttpServer broken(503);
  int closed = FreePort();
  proto::AgentConfig config;
  config.reachability_targets = {
      {.name = "open", .kind = "tcp", .address = "127.0.0.1", .port = ok.port()},
      {.name = "closed", .kind = "tcp", .address = "127.0.0.1", .port = closed},
      {.name = "web",
       .kind = "http",
       .address = "http://127.0.0.1:" + std::to_string(ok.port()) + "/health"},
      {.name = "web5xx",
       .kind = "http",
       .address = "http://127.0.0.1:" + std::to_string(broken.port()) + "/"},
      {.name = "webdown",
       .kind = "http",
       .address = "http://127.0.0.1:" + std::to_string(closed) + "/"},
      {.name = "bad", .kind = "tcp", .address = "-x", .port = 22},
      {.name = "badurl", .kind = "http", .address = "file:///etc/passwd"},
      {.name = "what", .kind = "smtp", .address = "127.0.0.1"},
  };
  RecordedRunner tools;
  auto c = MakeReachabilityCollector();
  EXPECT_EQ(c->name(), "reachability");
  SystemClock clock;
  auto results = CollectAt(*c, config, tools, "/", clock.Now(), milliseconds(10'000));
  ASSERT_EQ(results.size(), 8u);
  EXPECT_EQ(results[0].target, "open");
  EXPECT_EQ(results[0].status, CheckStatus::kOk) << results[0].message;
  EXPECT_NE(FindMetric(results[0], "reachability.response_ms"), nullptr);
  EXPECT_EQ(results[1].status, CheckStatus::kCritical);
  EXPECT_EQ(results[1].message,
            "127.0.0.1:" + std::to_string(closed) + " unreachable: Connection refused");
  EXPECT_EQ(results[2].status, CheckStatus::kOk) << results[2].message;
  EXPECT_EQ(results[2].details.at("http_status"), "404");
  EXPECT_EQ(results[3].status, CheckStatus::kCritical);
  EXPECT_EQ(results[3].details.at("http_status"), "503");
  EXPECT_EQ(results[4].status, CheckStatus::kCritical);
  EXPECT_EQ(results[5].status, CheckStatus::kUnknown);
  EXPECT_EQ(results[6].status, CheckStatus::kUnknown);
  EXPECT_EQ(results[7].message, "unknown kind smtp");
  EXPECT_TRUE(tools.Commands().empty());
}

TEST(ReachabilityCollectorTest, RecordedPing) {
  RecordedRunner tools;
  tools.AddOut("ping -c 3 -W 1 -i 0.2 10.255.255.1",
               ReadFile(SystemTestdata() / "ping_loss_exit1.txt"), 1);
  tools.Add("ping -c 3 -W 1 -i 0.2 no-such-host.invalid",
            {.exit_code = 2, .err = ReadFile(SystemTestdata() / "ping_unknown_host_exit2.txt")});
  tools.AddOut("ping -c 3 -W 1 -i 0.2 10.0.0.9",
               ReadFile(SystemTestdata() / "ping_partial_errors_exit0.txt"));
  proto::AgentConfig config;
  config.reachability_targets = {
      {.name = "nas", .kind = "ping", .address = "10.255.255.1"},
      {.name = "ghost", .kind = "ping", .address = "no-such-host.invalid"},
      {.name = "flaky", .kind = "ping", .address = "10.0.0.9"},
      {.name = "evil", .kind = "ping", .address = "-f"},
  };
  auto c = MakeReachabilityCollector();
  auto results = CollectAt(*c, config, tools, "/", At("2026-11-22T00:00:00Z"));
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0].status, CheckStatus::kCritical);
  EXPECT_EQ(results[0].message, "10.255.255.1 does not answer ping (3/3 lost)");
  EXPECT_EQ(results[1].status, CheckStatus::kCritical);
  EXPECT_EQ(results[1].message,
            "no-such-host.invalid unreachable: ping: no-such-host.invalid: Name or service not "
            "known");
  EXPECT_EQ(results[2].status, CheckStatus::kWarning);
  EXPECT_EQ(results[3].status, CheckStatus::kUnknown);
  EXPECT_EQ(results[3].message, "invalid address");
  EXPECT_EQ(tools.Commands().size(), 3u);
}

TEST(ReachabilityCollectorTest, RealPingOfLoopback) {
  auto runner = MakeProcessRunner();
  proto::AgentConfig config;
  config.reachability_targets = {{.name = "loopback", .kind = "ping", .address = "127.0.0.1"}};
  auto c = MakeReachabilityCollector();
  SystemClock clock;
  auto r = CollectAt(*c, config, *runner, "/", clock.Now(), milliseconds(10'000)).at(0);
  if (r.message == "ping not found" || r.status == CheckStatus::kUnknown) {
    GTEST_SKIP() << "ping is not usable here: " << r.message;
  }
  EXPECT_EQ(r.status, CheckStatus::kOk) << r.message;
  EXPECT_EQ(r.target, "loopback");
  EXPECT_EQ(FindMetric(r, "reachability.loss_percent")->value, 0);
  EXPECT_NE(FindMetric(r, "reachability.rtt_ms"), nullptr);
}

}  // namespace
}  // namespace vigil::agent
