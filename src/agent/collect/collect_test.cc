// Tests of the process runner, CollectWithTimeout and the resource and tool collectors, against
// real processes, real restic/borg repositories and monitoring plugins, this machine's /proc, and
// recorded files (testdata/).

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
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
#include "proto/batch.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;
using proto::CheckResult;
using proto::CheckStatus;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

fs::path Testdata() { return fs::path(__FILE__).parent_path() / "testdata"; }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing " << p;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const proto::Metric* FindMetric(const CheckResult& r, std::string_view name) {
  for (const auto& m : r.metrics) {
    if (m.name == name) {
      return &m;
    }
  }
  return nullptr;
}

// A fresh temporary folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "vigil-collect-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// True when `pid` no longer runs (gone, or a zombie waiting for its parent).
bool Gone(pid_t pid) {
  auto deadline = SteadyClock::now() + std::chrono::seconds(3);
  while (SteadyClock::now() < deadline) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) {
      return true;
    }
    std::string line;
    std::getline(stat, line);
    size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z') {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// ProcessRunner

class ProcessRunnerTest : public ::testing::Test {
 protected:
  Result<ToolOutput> Sh(const std::string& script, milliseconds timeout = milliseconds(10'000)) {
    ToolRequest r;
    r.argv = {"/bin/sh", "-c", script};
    r.timeout = timeout;
    return runner_->Run(r);
  }
  std::unique_ptr<ToolRunner> runner_ = MakeProcessRunner();
};

TEST_F(ProcessRunnerTest, ExitCodesAndBothStreams) {
  auto r = Sh("echo out; echo err >&2; exit 3");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_FALSE(r->timed_out);
  EXPECT_FALSE(r->truncated);
  auto ok = runner_->Run({{"true"}, milliseconds(5000), 1024, {}});  // found in PATH
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->exit_code, 0);
  auto killed = Sh("kill -9 $$");
  ASSERT_TRUE(killed.has_value());
  EXPECT_EQ(killed->exit_code, -1);
  EXPECT_FALSE(killed->timed_out);
}

TEST_F(ProcessRunnerTest, TimesOutQuickly) {
  auto start = SteadyClock::now();
  auto r = Sh("sleep 30", milliseconds(500));
  auto elapsed = SteadyClock::now() - start;
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_LT(elapsed, milliseconds(2500));
  EXPECT_GE(elapsed, milliseconds(450));
}

TEST_F(ProcessRunnerTest, KillsAProgramThatIgnoresSigterm) {
  auto start = SteadyClock::now();
  auto r = Sh("trap '' TERM; echo ready; while :; do sleep 1; done", milliseconds(300));
  auto elapsed = SteadyClock::now() - start;
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->out, "ready\n");
  EXPECT_LT(elapsed, milliseconds(2300));
}

TEST_F(ProcessRunnerTest, KillsAGrandchildHoldingStdoutOpen) {
  // The shell exits at once; its background child keeps the output pipe open.
  auto start = SteadyClock::now();
  auto r = Sh("sleep 30 & echo $!");
  ASSERT_TRUE(r.has_value());
  EXPECT_LT(SteadyClock::now() - start, milliseconds(2000));
  EXPECT_EQ(r->exit_code, 0);
  pid_t grandchild = std::atoi(r->out.c_str());
  ASSERT_GT(grandchild, 0) << r->out;
  EXPECT_TRUE(Gone(grandchild));

  // At the deadline the whole process group goes.
  start = SteadyClock::now();
  auto t = Sh("sleep 30 & echo $!; sleep 30", milliseconds(300));
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(t->timed_out);
  EXPECT_LT(SteadyClock::now() - start, milliseconds(2300));
  pid_t second = std::atoi(t->out.c_str());
  ASSERT_GT(second, 0) << t->out;
  EXPECT_TRUE(Gone(second));
}

TEST_F(ProcessRunnerTest, BoundsOutput) {
  ToolRequest req{{"/bin/sh", "-c", "head -c 5000000 /dev/zero; echo tail >&2"},
                  milliseconds(10'000),
                  1000,
                  {}};
  auto r = runner_->Run(req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_code, 0);  // the rest was read and discarded, so the writer never blocked
  EXPECT_EQ(r->out.size(), 1000u);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->err, "tail\n");
}

TEST_F(ProcessRunnerTest, MissingOrNotExecutableIsNotFound) {
  auto missing = runner_->Run({{"/nonexistent/smartctl"}, milliseconds(1000), 1024, {}});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  auto unknown = runner_->Run({{"vigil-no-such-tool"}, milliseconds(1000), 1024, {}});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(unknown.error().message().find("not installed"), std::string::npos);
  std::string data = (Testdata() / "root" / "proc" / "meminfo").string();
  auto not_exec = runner_->Run({{data}, milliseconds(1000), 1024, {}});
  ASSERT_FALSE(not_exec.has_value());
  EXPECT_EQ(not_exec.error().code(), ErrorCode::kNotFound);
  auto dir = runner_->Run({{"/usr/bin"}, milliseconds(1000), 1024, {}});
  ASSERT_FALSE(dir.has_value());
  EXPECT_EQ(dir.error().code(), ErrorCode::kNotFound);
  auto empty = runner_->Run({{}, milliseconds(1000), 1024, {}});
  EXPECT_FALSE(empty.has_value());
}

TEST_F(ProcessRunnerTest, ExecFailureIsReported) {
  // Executable, but not a valid program: execve fails with ENOEXEC in the child.
  TempDir dir;
  fs::path bad = dir.path() / "bad";
  std::ofstream(bad) << "\x7f"
                     << "ELF garbage";
  fs::permissions(bad, fs::perms::owner_all);
  auto r = runner_->Run({{bad.string()}, milliseconds(1000), 1024, {}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

TEST_F(ProcessRunnerTest, MinimalEnvironmentPlusRequested) {
  ::setenv("VIGIL_TEST_SECRET", "leak", 1);
  ToolRequest req{
      {"/usr/bin/env"}, milliseconds(5000), 1 << 20, {{"FOO", "bar baz"}, {"LANG", "C.UTF-8"}}};
  auto r = runner_->Run(req);
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->out.find("PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"), std::string::npos) << r->out;
  EXPECT_NE(r->out.find("FOO=bar baz\n"), std::string::npos);
  EXPECT_NE(r->out.find("LANG=C.UTF-8\n"), std::string::npos);  // overridden, not duplicated
  EXPECT_EQ(r->out.find("LANG=C\n"), std::string::npos);
  EXPECT_NE(r->out.find("HOME="), std::string::npos);
  EXPECT_EQ(r->out.find("VIGIL_TEST_SECRET"), std::string::npos);
}

TEST_F(ProcessRunnerTest, StdinIsDevNullAndNoDescriptorLeaks) {
  int leak[2];
  ASSERT_EQ(::pipe(leak), 0);  // not close-on-exec
  auto cat = Sh("cat; echo done");
  ASSERT_TRUE(cat.has_value());
  EXPECT_EQ(cat->out, "done\n");
  EXPECT_FALSE(cat->timed_out);
  auto fds = Sh("ls /proc/self/fd");
  ASSERT_TRUE(fds.has_value());
  // 0, 1, 2 and the descriptor ls opened for the listing.
  EXPECT_EQ(fds->out, "0\n1\n2\n3\n");
  ::close(leak[0]);
  ::close(leak[1]);
}

TEST_F(ProcessRunnerTest, ConcurrentRuns) {
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 5; ++k) {
        auto r = Sh("echo " + std::to_string(i * 100 + k));
        if (r && r->out == std::to_string(i * 100 + k) + "\n" && r->exit_code == 0) {
          ++good;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(good.load(), 30);
}

// ---------------------------------------------------------------------------------------------
// A ToolRunner that plays back recorded outputs by command line.

class RecordedRunner final : public ToolRunner {
 public:
  void Add(const std::string& command, ToolOutput out) { outputs_[command].push_back(out); }
  void AddFile(const std::string& command, const fs::path& file, int exit_code = 0) {
    ToolOutput o;
    o.exit_code = exit_code;
    o.out = ReadFile(file);
    Add(command, o);
  }
  Result<ToolOutput> Run(const ToolRequest& request) const override {
    std::string key;
    for (const auto& a : request.argv) {
      key += (key.empty() ? "" : " ") + a;
    }
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(key);
    auto it = outputs_.find(key);
    if (it == outputs_.end() || it->second.empty()) {
      return NotFound(request.argv.empty() ? "" : request.argv[0] + " is not installed");
    }
    ToolOutput o = it->second.front();
    if (it->second.size() > 1) {
      it->second.erase(it->second.begin());
    }
    return o;
  }
  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  mutable std::map<std::string, std::vector<ToolOutput>> outputs_;
  mutable std::vector<std::string> calls_;
};

struct Env {
  proto::AgentConfig config;
  SystemPaths paths;
  std::unique_ptr<ToolRunner> process = MakeProcessRunner();
  CollectContext Ctx(const ToolRunner& tools, TimePoint now = SystemClock().Now(),
                     milliseconds timeout = milliseconds(30'000)) const {
    return CollectContext{now, timeout, config, tools, paths};
  }
  CollectContext Ctx(TimePoint now = SystemClock().Now()) const { return Ctx(*process, now); }
};

// ---------------------------------------------------------------------------------------------
// smart

TEST(SmartCollectorTest, ConfiguredDeviceAndCounterGrowth) {
  Env env;
  env.config.smart_devices = {"/dev/sdb"};
  RecordedRunner tools;
  tools.AddFile("smartctl --json -a /dev/sdb", Testdata() / "smartctl" / "ST3500418AS_11.json", 0);
  tools.AddFile("smartctl --json -a /dev/sdb", Testdata() / "smartctl" / "ST3500418AS_12.json", 0);
  auto c = MakeSmartCollector();
  EXPECT_EQ(c->name(), "smart");
  auto first = c->Collect(env.Ctx(tools));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].target, "/dev/sdb");
  EXPECT_EQ(first[0].status, CheckStatus::kWarning) << first[0].message;
  // The same disk, later: the reallocated count grew from 1 to 304.
  auto second = c->Collect(env.Ctx(tools));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].status, CheckStatus::kCritical) << second[0].message;
  // Without the previous reading the same report is only a warning: the growth made it critical.
  RecordedRunner later;
  later.AddFile("smartctl --json -a /dev/sdb", Testdata() / "smartctl" / "ST3500418AS_12.json");
  auto fresh = MakeSmartCollector()->Collect(env.Ctx(later));
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].status, CheckStatus::kWarning) << fresh[0].message;
}

TEST(SmartCollectorTest, ScansForDevices) {
  Env env;
  RecordedRunner tools;
  ToolOutput scan;
  scan.exit_code = 0;
  scan.out = R"({"json_format_version":[1,0],"devices":[
      {"name":"/dev/sda","info_name":"/dev/sda [SAT]","type":"sat","protocol":"ATA"},
      {"name":"/dev/sdb","info_name":"/dev/sdb","type":"scsi","protocol":"SCSI"},
      {"name":"-d evil","type":"sat"}, {"name":"/dev/sdc","type":"--hostile"}, 42]})";
  tools.Add("smartctl --scan-open --json", scan);
  tools.AddFile("smartctl --json -a -d sat /dev/sda",
                Testdata() / "smartctl" / "HGST_HUS724020ALE640_28.json");
  ToolOutput garbage;
  garbage.exit_code = 2;
  garbage.out = "not json";
  garbage.err = "Smartctl open device: /dev/sdb failed: Permission denied\n";
  tools.Add("smartctl --json -a -d scsi /dev/sdb", garbage);
  auto results = MakeSmartCollector()->Collect(env.Ctx(tools));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].status, CheckStatus::kOk) << results[0].message;
  EXPECT_EQ(results[1].target, "/dev/sdb");
  EXPECT_EQ(results[1].status, CheckStatus::kUnknown);
  EXPECT_NE(results[1].message.find("Permission denied"), std::string::npos);
  // A hostile type is dropped, never passed as an option.
  EXPECT_EQ(results[2].target, "/dev/sdc");
  EXPECT_EQ(tools.calls().back(), "smartctl --json -a /dev/sdc");
}

TEST(SmartCollectorTest, NotInstalledAndNoDisks) {
  Env env;
  RecordedRunner none;
  auto missing = MakeSmartCollector()->Collect(env.Ctx(none));
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].status, CheckStatus::kUnknown);
  EXPECT_EQ(missing[0].message, "smartctl not installed");
  RecordedRunner empty;
  empty.Add("smartctl --scan-open --json", ToolOutput{0, false, false, R"({"devices":[]})", ""});
  auto no_disks = MakeSmartCollector()->Collect(env.Ctx(empty));
  ASSERT_EQ(no_disks.size(), 1u);
  EXPECT_EQ(no_disks[0].status, CheckStatus::kOk);
  EXPECT_EQ(no_disks[0].message, "no disks with SMART found");
  // The real smartctl in this container: no disks to see, but never an error or a hang.
  auto real = MakeSmartCollector()->Collect(env.Ctx());
  ASSERT_FALSE(real.empty());
}

// ---------------------------------------------------------------------------------------------
// backup, against real repositories

class BackupCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.path() / "data" / "sub");
    std::ofstream(dir_.path() / "data" / "file.txt") << "precious";
    std::ofstream(dir_.path() / "data" / "sub" / "other.txt") << "more";
    std::ofstream(dir_.path() / "password") << "correct horse\n";
    std::ofstream(dir_.path() / "wrong") << "battery staple\n";
  }
  void MustRun(std::vector<std::string> argv,
               std::vector<std::pair<std::string, std::string>> env = {}) {
    ToolRequest r{std::move(argv), milliseconds(60'000), 1 << 20, std::move(env)};
    auto out = env_.process->Run(r);
    ASSERT_TRUE(out.has_value()) << out.error().message();
    ASSERT_EQ(out->exit_code, 0) << out->err;
  }
  std::string P(const std::string& name) const { return (dir_.path() / name).string(); }

  TempDir dir_;
  Env env_;
};

TEST_F(BackupCollectorTest, ResticFreshThenAgingThenFailures) {
  MustRun({"restic", "init", "-r", P("restic"), "--password-file", P("password")});
  MustRun({"restic", "-r", P("restic"), "--password-file", P("password"), "backup", P("data")});
  env_.config.backup_sources = {{"restic", P("restic"), P("password"), 26, 48}};
  auto c = MakeBackupCollector();
  TimePoint now = SystemClock().Now();
  auto fresh = c->Collect(env_.Ctx(now));
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].status, CheckStatus::kOk) << fresh[0].message;
  EXPECT_EQ(fresh[0].target, "restic:" + P("restic"));
  EXPECT_EQ(FindMetric(fresh[0], "backup.snapshots")->value, 1);
  auto older = c->Collect(env_.Ctx(now + std::chrono::hours(30)));
  EXPECT_EQ(older[0].status, CheckStatus::kWarning) << older[0].message;
  auto oldest = c->Collect(env_.Ctx(now + std::chrono::hours(50)));
  EXPECT_EQ(oldest[0].status, CheckStatus::kCritical) << oldest[0].message;

  env_.config.backup_sources = {{"restic", P("restic"), P("wrong"), 26, 48},
                                {"restic", P("nothing-here"), P("password"), 26, 48}};
  auto failed = c->Collect(env_.Ctx(now));
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].status, CheckStatus::kCritical) << failed[0].message;
  EXPECT_NE(failed[0].message.find("password"), std::string::npos) << failed[0].message;
  EXPECT_EQ(failed[1].status, CheckStatus::kCritical) << failed[1].message;
}

TEST_F(BackupCollectorTest, BorgUnencryptedAndMissing) {
  std::vector<std::pair<std::string, std::string>> borg_env = {
      {"BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "yes"}};
  MustRun({"borg", "init", "-e", "none", P("borg")}, borg_env);
  MustRun({"borg", "create", P("borg") + "::first", P("data")}, borg_env);
  env_.config.backup_sources = {{"borg", P("borg"), "", 26, 48},
                                {"borg", P("no-borg-here"), "", 26, 48}};
  TimePoint now = SystemClock().Now();
  auto c = MakeBackupCollector();
  auto r = c->Collect(env_.Ctx(now));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, CheckStatus::kOk) << r[0].message;
  EXPECT_EQ(r[0].target, "borg:" + P("borg"));
  EXPECT_EQ(r[0].details.at("newest_name"), "first");
  EXPECT_EQ(r[1].status, CheckStatus::kCritical) << r[1].message;
  auto later = c->Collect(env_.Ctx(now + std::chrono::hours(49)));
  EXPECT_EQ(later[0].status, CheckStatus::kCritical) << later[0].message;
}

TEST_F(BackupCollectorTest, BorgEncryptedWithPasswordFile) {
  MustRun({"borg", "init", "-e", "repokey", P("borg-enc")}, {{"BORG_PASSPHRASE", "correct horse"}});
  MustRun({"borg", "create", P("borg-enc") + "::one", P("data")},
          {{"BORG_PASSPHRASE", "correct horse"}});
  env_.config.backup_sources = {{"borg", P("borg-enc"), P("password"), 26, 48},
                                {"borg", P("borg-enc"), P("wrong"), 26, 48}};
  auto r = MakeBackupCollector()->Collect(env_.Ctx());
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, CheckStatus::kOk) << r[0].message;
  EXPECT_EQ(r[1].status, CheckStatus::kCritical) << r[1].message;
}

TEST_F(BackupCollectorTest, MarkerFilesAndTimeouts) {
  std::ofstream(P("marker")) << FormatRfc3339(SystemClock().Now()) << "\n";
  std::ofstream(P("bad-marker")) << "2026-13-01T00:00:00Z\n";
  env_.config.backup_sources = {{"marker", P("marker"), "", 26, 48},
                                {"marker", P("bad-marker"), "", 26, 48},
                                {"marker", P("absent"), "", 26, 48},
                                {"tape", "/dev/st0", "", 26, 48}};
  auto r = MakeBackupCollector()->Collect(env_.Ctx());
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].status, CheckStatus::kOk) << r[0].message;
  EXPECT_EQ(r[1].status, CheckStatus::kCritical) << r[1].message;
  EXPECT_EQ(r[2].status, CheckStatus::kCritical) << r[2].message;
  EXPECT_EQ(r[3].status, CheckStatus::kUnknown);

  RecordedRunner slow;
  slow.Add("restic -r /srv/r --no-lock snapshots --json", ToolOutput{-1, true, false, "", ""});
  env_.config.backup_sources = {{"restic", "/srv/r", "", 26, 48}};
  auto t = MakeBackupCollector()->Collect(env_.Ctx(slow, SystemClock().Now(), milliseconds(5000)));
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].status, CheckStatus::kUnknown);
  EXPECT_EQ(t[0].message, "restic did not finish within 5s");
  RecordedRunner none;
  auto missing = MakeBackupCollector()->Collect(env_.Ctx(none));
  EXPECT_EQ(missing[0].message, "restic not installed");
}

// ---------------------------------------------------------------------------------------------
// plugin

TEST(PluginCollectorTest, RunsRealPlugins) {
  Env env;
  env.config.plugins = {
      {"dummy", {"/usr/lib/nagios/plugins/check_dummy", "1", "almost full"}},
      {"load",
       {"/usr/lib/nagios/plugins/check_load", "-w", "1000,1000,1000", "-c", "2000,2000,2000"}},
      {"crit", {"/usr/lib/nagios/plugins/check_dummy", "2", "broken"}}};
  auto r = MakePluginCollector()->Collect(env.Ctx());
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].target, "dummy");
  EXPECT_EQ(r[0].status, CheckStatus::kWarning);
  EXPECT_NE(r[0].message.find("almost full"), std::string::npos) << r[0].message;
  EXPECT_EQ(r[1].status, CheckStatus::kOk) << r[1].message;
  EXPECT_FALSE(r[1].metrics.empty());
  EXPECT_EQ(r[2].status, CheckStatus::kCritical);
}

TEST(PluginCollectorTest, RefusesPluginsOutsideTheAllowedFolders) {
  Env env;
  env.config.plugins = {{"shell", {"/bin/sh", "-c", "echo pwned"}},
                        {"escape", {"/usr/lib/nagios/plugins/../../../../bin/echo", "pwned"}},
                        {"relative", {"check_dummy", "0"}},
                        {"missing", {"/usr/lib/nagios/plugins/check_nothing_here"}},
                        {"empty", {}}};
  TempDir dir;
  fs::path link = dir.path() / "link";
  fs::create_symlink("/bin/echo", link);
  env.config.plugins.push_back({"symlink", {link.string(), "pwned"}});
  RecordedRunner tools;  // nothing may run at all
  auto r = MakePluginCollector()->Collect(env.Ctx(tools));
  ASSERT_EQ(r.size(), 6u);
  for (const auto& res : r) {
    EXPECT_EQ(res.status, CheckStatus::kUnknown) << res.target;
    EXPECT_EQ(res.message.find("pwned"), std::string::npos);
  }
  EXPECT_NE(r[0].message.find("not in an allowed folder"), std::string::npos) << r[0].message;
  EXPECT_NE(r[1].message.find("allowed folder"), std::string::npos) << r[1].message;
  EXPECT_TRUE(tools.calls().empty());
}

TEST(PluginCollectorTest, TimeoutIsUnknown) {
  Env env;
  env.config.plugins = {{"slow", {"/usr/lib/nagios/plugins/check_dummy", "0"}}};
  RecordedRunner tools;
  tools.Add("/usr/lib/nagios/plugins/check_dummy 0", ToolOutput{-1, true, false, "", ""});
  auto r = MakePluginCollector()->Collect(env.Ctx(tools, SystemClock().Now(), milliseconds(2000)));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, CheckStatus::kUnknown);
  EXPECT_EQ(r[0].message, "plugin did not finish within 2s");
}

// ---------------------------------------------------------------------------------------------
// CollectWithTimeout

class SleepyCollector final : public Collector {
 public:
  explicit SleepyCollector(milliseconds sleep) : sleep_(sleep) {}
  std::string_view name() const override { return "services"; }
  std::vector<CheckResult> Collect(const CollectContext& ctx) override {
    std::this_thread::sleep_for(sleep_);
    CheckResult r;
    r.check = "services";
    r.status = CheckStatus::kOk;
    r.message = ctx.paths.root;  // reads the context after the caller may have gone
    return {r};
  }

 private:
  milliseconds sleep_;
};

TEST(CollectWithTimeoutTest, ReturnsResultsOrUnknownAtTheLimit) {
  Env env;
  SleepyCollector quick(milliseconds(10));
  auto r = CollectWithTimeout(quick, env.Ctx(*env.process, SystemClock().Now(), milliseconds(500)));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, CheckStatus::kOk);

  // Kept alive for the rest of the process, as the agent keeps its collectors.
  static auto* stuck = new SleepyCollector(milliseconds(2500));
  auto start = SteadyClock::now();
  {
    Env scoped;  // config and paths go out of scope while the thread still runs
    scoped.paths.root = "/tmp/gone";
    auto t = CollectWithTimeout(*stuck,
                                scoped.Ctx(*env.process, SystemClock().Now(), milliseconds(100)));
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].check, "services");
    EXPECT_EQ(t[0].status, CheckStatus::kUnknown);
    EXPECT_EQ(t[0].message, "check did not finish within 1s");
  }
  EXPECT_LT(SteadyClock::now() - start, milliseconds(1800));
  // While the abandoned call still runs, the collector is not entered a second time.
  auto again =
      CollectWithTimeout(*stuck, env.Ctx(*env.process, SystemClock().Now(), milliseconds(100)));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].status, CheckStatus::kUnknown);
  EXPECT_NE(again[0].message.find("still running"), std::string::npos);
  std::this_thread::sleep_for(milliseconds(2000));
  auto after =
      CollectWithTimeout(*stuck, env.Ctx(*env.process, SystemClock().Now(), milliseconds(5000)));
  EXPECT_EQ(after[0].status, CheckStatus::kOk);
}

// ---------------------------------------------------------------------------------------------
// resources

TEST(ResourceCollectorsTest, ThisMachine) {
  Env env;
  auto cpu = MakeCpuCollector();
  auto start = SteadyClock::now();
  auto c = cpu->Collect(env.Ctx());
  EXPECT_GE(SteadyClock::now() - start, milliseconds(240));  // two samples on the first call
  ASSERT_EQ(c.size(), 1u);
  EXPECT_NE(c[0].status, CheckStatus::kUnknown) << c[0].message;
  const auto* busy = FindMetric(c[0], "cpu.busy_percent");
  ASSERT_NE(busy, nullptr);
  EXPECT_GE(busy->value, 0);
  EXPECT_LE(busy->value, 100);
  auto mem = MakeMemoryCollector()->Collect(env.Ctx());
  ASSERT_EQ(mem.size(), 1u);
  EXPECT_NE(mem[0].status, CheckStatus::kUnknown) << mem[0].message;
  auto swap = MakeSwapCollector()->Collect(env.Ctx());
  ASSERT_EQ(swap.size(), 1u);
  EXPECT_NE(swap[0].status, CheckStatus::kUnknown) << swap[0].message;
  auto disk = MakeDiskCollector()->Collect(env.Ctx());
  ASSERT_FALSE(disk.empty());
  bool root = false;
  for (const auto& d : disk) {
    EXPECT_EQ(d.check, "disk");
    EXPECT_NE(d.status, CheckStatus::kUnknown) << d.target << ": " << d.message;
    root = root || d.target == "/";
  }
  EXPECT_TRUE(root);
}

TEST(ResourceCollectorsTest, FixtureRoot) {
  TempDir dir;
  fs::copy(Testdata() / "root", dir.path(), fs::copy_options::recursive);
  fs::create_directories(dir.path() / "var" / "log");
  fs::create_directories(dir.path() / "etc");
  std::ofstream(dir.path() / "etc" / "hosts") << "127.0.0.1 localhost\n";
  Env env;
  env.paths.root = dir.path().string();
  env.config.memory = {90, 95};
  env.config.disk_ignore_mounts = {"/var/log"};

  auto mem = MakeMemoryCollector()->Collect(env.Ctx());
  ASSERT_EQ(mem.size(), 1u);
  EXPECT_EQ(mem[0].status, CheckStatus::kWarning);
  EXPECT_EQ(mem[0].message, "memory 93% used, 546 MiB of 7812 MiB available (warning at 90%)");
  auto swap = MakeSwapCollector()->Collect(env.Ctx());
  EXPECT_EQ(swap[0].status, CheckStatus::kOk);
  EXPECT_EQ(FindMetric(swap[0], "swap.used_percent")->value, 5);

  // The first call samples the same recorded counters twice: nothing elapsed.
  auto cpu = MakeCpuCollector();
  auto first = cpu->Collect(env.Ctx());
  EXPECT_EQ(first[0].status, CheckStatus::kUnknown);
  std::ofstream(dir.path() / "proc" / "stat") << "cpu  1090 0 505 8000 300 0 200 5 0 0\n";
  auto second = cpu->Collect(env.Ctx());
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].status, CheckStatus::kWarning) << second[0].message;
  EXPECT_EQ(FindMetric(second[0], "cpu.busy_percent")->value, 95);
  EXPECT_EQ(FindMetric(second[0], "cpu.load1")->value, 3.5);

  auto disk = MakeDiskCollector()->Collect(env.Ctx());
  std::map<std::string, CheckResult> by_target;
  for (const auto& d : disk) {
    by_target[d.target] = d;
  }
  ASSERT_EQ(by_target.size(), 3u);  // "/", "/etc/hosts" (for /dev/sda1), "/mnt/nas"
  EXPECT_NE(by_target["/"].status, CheckStatus::kUnknown) << by_target["/"].message;
  EXPECT_NE(FindMetric(by_target["/"], "disk./.used_percent"), nullptr);
  EXPECT_NE(by_target["/etc/hosts"].status, CheckStatus::kUnknown);
  EXPECT_EQ(by_target["/mnt/nas"].status, CheckStatus::kUnknown);  // not in the fixture
  EXPECT_NE(by_target["/mnt/nas"].message.find("statvfs"), std::string::npos);

  env.paths.root = (dir.path() / "nothing").string();
  EXPECT_EQ(MakeMemoryCollector()->Collect(env.Ctx())[0].status, CheckStatus::kUnknown);
  EXPECT_EQ(MakeDiskCollector()->Collect(env.Ctx())[0].status, CheckStatus::kUnknown);
}

TEST(SystemPathsTest, JoinsRootAndPath) {
  EXPECT_EQ(SystemPaths{}.Path("/proc/meminfo"), "/proc/meminfo");
  EXPECT_EQ(SystemPaths{"/tmp/root"}.Path("/proc/meminfo"), "/tmp/root/proc/meminfo");
  EXPECT_EQ(SystemPaths{"/tmp/root/"}.Path("/"), "/tmp/root/");
  EXPECT_EQ(SystemPaths{""}.Path("proc"), "/proc");
}

TEST(PlatformCollectorsTest, OnePerCheckInOrder) {
  auto all = MakePlatformCollectors();
  ASSERT_EQ(all.size(), std::size(proto::kCheckNames));
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_NE(all[i], nullptr) << proto::kCheckNames[i];
    EXPECT_EQ(all[i]->name(), proto::kCheckNames[i]);
  }
}

// ---------------------------------------------------------------------------------------------
// EncodeCheckResult

TEST(EncodeCheckResultTest, SameAsInsideABatch) {
  CheckResult r;
  r.check = "disk";
  r.target = "/var";
  r.status = CheckStatus::kWarning;
  r.message = "/var 91% used (warning at 85%)\x01";
  r.metrics.push_back({"disk./var.used_percent", 91, "%", 85, 95, 0, 100});
  r.details["device"] = "/dev/sda3";
  proto::Batch b;
  b.sequence = 1;
  b.observations.push_back({SystemClock().Now(), r});
  auto batch = json::Parse(proto::EncodeBatch(b));
  auto one = json::Parse(proto::EncodeCheckResult(r));
  ASSERT_TRUE(batch.has_value());
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ((*batch)["observations"][0]["result"], *one);
  EXPECT_EQ((*one)["status"], "warning");
  EXPECT_EQ(proto::EncodeCheckResult(r).find('\n'), std::string::npos);
}

}  // namespace
}  // namespace vigil::agent
