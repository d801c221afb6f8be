// `vigil-agent check NAME`: runs one check once and prints its results.
//
// Without --input the check's real collector runs on this machine (the same code as the daemon),
// with the configuration from --config (over the "server" defaults) or the defaults, plus quick
// flags that fill it: --repository/--password-file/--tool for backup, --device for smart,
// `-- /usr/lib/nagios/plugins/check_load -w ...` for plugin. With --input the recorded output of
// a tool is parsed instead (smart, backup, plugin).
//
// Output: one human block per result, or with --json one JSON object per line, exactly the
// "result" object of a batch (proto::EncodeCheckResult). Exit code: the worst status (0 ok,
// 1 warning, 2 critical, 3 unknown), 64 for bad input.

#include <sys/stat.h>
#include <CLI/CLI.hpp>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agent/checks/backup.h"
#include "agent/checks/plugin.h"
#include "agent/checks/smart.h"
#include "agent/collect/collector.h"
#include "agent/collect/tool_runner.h"
#include "agent/commands.h"
#include "core/clock.h"
#include "proto/agent_config.h"
#include "proto/batch.h"
#include "proto/check.h"

namespace vigil::agent {
namespace {

using proto::CheckResult;

constexpr size_t kMaxInputBytes = 64 << 20;
constexpr int kBadInput = 64;

Result<std::string> ReadInput(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return vigil::InvalidArgument("cannot read " + path);
  }
  std::string out;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    out.append(buf, static_cast<size_t>(in.gcount()));
    if (out.size() > kMaxInputBytes) {
      return vigil::PayloadTooLarge(path + " is larger than 64 MiB");
    }
  }
  return out;
}

void PrintHuman(const CheckResult& r) {
  std::string status(vigil::proto::CheckStatusName(r.status));
  for (char& c : status) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  std::printf("%s%s%s: %s - %s\n", r.check.c_str(), r.target.empty() ? "" : " ", r.target.c_str(),
              status.c_str(), r.message.c_str());
  for (const auto& m : r.metrics) {
    std::printf("  %-40s %.15g%s\n", m.name.c_str(), m.value, m.unit.c_str());
  }
  for (const auto& [k, v] : r.details) {
    std::printf("  %-40s %s\n", k.c_str(), v.c_str());
  }
}

// Exit codes follow the monitoring-plugin convention, so scripts can use them directly: the worst
// status of all results (critical > warning > unknown > ok).
int ExitCodeFor(const std::vector<CheckResult>& results) {
  proto::CheckStatus worst = proto::CheckStatus::kOk;
  for (const CheckResult& r : results) {
    worst = proto::Worst(worst, r.status);
  }
  return static_cast<int>(worst);
}

int Print(const std::vector<CheckResult>& results, bool json) {
  for (const CheckResult& r : results) {
    if (json) {
      std::printf("%s\n", proto::EncodeCheckResult(r).c_str());
    } else {
      PrintHuman(r);
    }
  }
  std::fflush(stdout);
  return ExitCodeFor(results);
}

int BadInput(const std::string& message) {
  std::fprintf(stderr, "vigil-agent: %s\n", message.c_str());
  return kBadInput;
}

}  // namespace

struct CheckOptions {
  std::string name, input, tool = "restic", target, config, repository, password_file;
  std::vector<std::string> devices, command;
  int exit_code = 0;
  int warn_hours = 26, crit_hours = 48, utc_offset_minutes = 0;
  int timeout_seconds = 0;
  bool json = false;
};

namespace {

// --input: parses a tool's recorded output (smart, backup, plugin).
int RunRecorded(const CheckOptions& o) {
  auto text = ReadInput(o.input);
  if (!text) {
    return BadInput(text.error().message());
  }
  vigil::SystemClock clock;
  Result<CheckResult> result = vigil::InvalidArgument("unknown check");
  if (o.name == "smart") {
    result = vigil::checks::ParseSmartctl(*text);
  } else if (o.name == "plugin") {
    result =
        vigil::checks::ParsePluginOutput(o.exit_code, *text, o.target.empty() ? o.input : o.target);
  } else if (o.name != "backup") {
    return BadInput("--input is supported for smart, backup and plugin; run `vigil-agent check " +
                    o.name + "` without it to check this machine");
  } else if (o.tool == "restic" || o.tool == "borg") {
    auto snapshots = o.tool == "restic" ? vigil::checks::ParseResticSnapshots(*text)
                                        : vigil::checks::ParseBorgList(
                                              *text, std::chrono::minutes(o.utc_offset_minutes));
    if (snapshots) {
      result = vigil::checks::EvaluateBackup(
          *snapshots, clock.Now(), std::chrono::hours(o.warn_hours),
          std::chrono::hours(o.crit_hours), o.target.empty() ? o.tool + ":" + o.input : o.target);
    } else {
      result = snapshots.error();
    }
  } else {
    struct stat st {};
    if (stat(o.input.c_str(), &st) != 0) {
      return BadInput("cannot stat " + o.input);
    }
    auto mtime =
        vigil::FromUnixMillis(int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1'000'000);
    auto when = vigil::checks::ParseMarkerFile(*text, mtime);
    if (when) {
      vigil::checks::BackupSnapshot s;
      s.time = *when;
      result = vigil::checks::EvaluateBackup({s}, clock.Now(), std::chrono::hours(o.warn_hours),
                                             std::chrono::hours(o.crit_hours),
                                             o.target.empty() ? "marker:" + o.input : o.target);
    } else {
      result = when.error();
    }
  }
  if (!result) {
    return BadInput("check " + o.name + ": " + result.error().message());
  }
  return Print({*result}, o.json);
}

// Without --input: the real collector, once, on this machine.
int RunLive(const CheckOptions& o) {
  proto::AgentConfig config = proto::DefaultAgentConfig("server");
  if (!o.config.empty()) {
    auto text = ReadInput(o.config);
    if (!text) {
      return BadInput(text.error().message());
    }
    auto decoded = proto::DecodeAgentConfig(*text, config);
    if (!decoded) {
      return BadInput(o.config + ": " + decoded.error().message());
    }
    config = std::move(*decoded);
  }
  if (!o.repository.empty()) {
    if (o.name != "backup") {
      return BadInput("--repository is for the backup check");
    }
    config.backup_sources = {{o.tool, o.repository, o.password_file, o.warn_hours, o.crit_hours}};
  }
  if (!o.command.empty()) {
    if (o.name != "plugin") {
      return BadInput("a command after -- is for the plugin check");
    }
    std::string plugin_name = o.target;
    if (plugin_name.empty()) {
      plugin_name = o.command[0].substr(o.command[0].find_last_of('/') + 1);
    }
    config.plugins = {{plugin_name, o.command}};
  }
  if (!o.devices.empty()) {
    if (o.name != "smart") {
      return BadInput("--device is for the smart check");
    }
    config.smart_devices = o.devices;
  }
  // Collectors and the runner live for the rest of the process: a collector abandoned at its
  // time limit keeps running on its own thread (collector.h).
  static auto* collectors = new std::vector<std::unique_ptr<Collector>>(MakePlatformCollectors());
  static auto* tools = MakeProcessRunner().release();
  Collector* collector = nullptr;
  for (auto& c : *collectors) {
    if (c != nullptr && c->name() == o.name) {
      collector = c.get();
    }
  }
  if (collector == nullptr) {
    return BadInput("no collector for check " + o.name + " on this platform");
  }
  SystemPaths paths;
  std::chrono::milliseconds timeout = o.timeout_seconds > 0
                                          ? std::chrono::seconds(o.timeout_seconds)
                                          : std::chrono::seconds(config.Schedule(o.name).timeout);
  CollectContext ctx{vigil::SystemClock().Now(), timeout, config, *tools, paths};
  std::vector<CheckResult> results = CollectWithTimeout(*collector, ctx);
  if (results.empty()) {
    CheckResult none;
    none.check = o.name;
    none.status = proto::CheckStatus::kUnknown;
    none.message = "the check returned no results";
    results.push_back(none);
  }
  return Print(results, o.json);
}

}  // namespace

int RunCheck(const CheckOptions& o) { return o.input.empty() ? RunLive(o) : RunRecorded(o); }

CommandRunner AddCheckCommand(CLI::App& app) {
  auto opts = std::make_shared<CheckOptions>();
  CheckOptions& o = *opts;
  std::vector<std::string> names(std::begin(proto::kCheckNames), std::end(proto::kCheckNames));
  auto* check = app.add_subcommand("check", "run one check once and print its results");
  check->add_option("name", o.name, "the check: " + fmt::format("{}", fmt::join(names, ", ")))
      ->required()
      ->check(CLI::IsMember(names));
  check->add_option("command", o.command,
                    "plugin: the plugin and its arguments, after --, e.g. -- "
                    "/usr/lib/nagios/plugins/check_load -w 5,4,3 -c 10,8,6");
  check->add_option("--input", o.input,
                    "smart, backup, plugin: read the tool's recorded output from this file "
                    "instead of running it");
  check->add_flag("--json", o.json, "print each result as JSON, one per line, as sent to vigild");
  check->add_option("--config", o.config,
                    "agent configuration JSON (as GET /api/v1/agent/config returns) over the "
                    "server defaults");
  check
      ->add_option("--timeout", o.timeout_seconds,
                   "seconds the check may take (default: the configured timeout)")
      ->check(CLI::Range(1, 3600));
  check->add_option("--tool", o.tool, "backup: restic, borg or marker")
      ->check(CLI::IsMember({"restic", "borg", "marker"}))
      ->capture_default_str();
  check->add_option(
      "--repository", o.repository,
      "backup: check this repository (or marker file) instead of the configured ones");
  check->add_option("--password-file", o.password_file, "backup: file holding the password");
  check->add_option("--device", o.devices, "smart: check this device (repeatable)");
  check->add_option("--target", o.target, "what was checked (repository, plugin name)");
  check->add_option("--exit-code", o.exit_code, "plugin --input: the plugin's exit code")
      ->check(CLI::Range(0, 255));
  check->add_option("--warn-hours", o.warn_hours, "backup: warn when the newest is older")
      ->capture_default_str();
  check->add_option("--crit-hours", o.crit_hours, "backup: critical when the newest is older")
      ->capture_default_str();
  check->add_option("--utc-offset-minutes", o.utc_offset_minutes,
                    "borg --input: the local time zone's offset of the machine that listed the "
                    "archives");

  return [check, opts]() -> std::optional<int> {
    if (!check->parsed()) {
      return std::nullopt;
    }
    return RunCheck(*opts);
  };
}

}  // namespace vigil::agent
