// `vigil-agent check NAME`: runs one check once and prints its result.

#include <sys/stat.h>
#include <CLI/CLI.hpp>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "agent/checks/backup.h"
#include "agent/checks/plugin.h"
#include "agent/checks/smart.h"
#include "agent/commands.h"
#include "core/clock.h"
#include "proto/check.h"

namespace vigil::agent {
namespace {

using proto::CheckResult;

constexpr size_t kMaxInputBytes = 64 << 20;

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
    std::printf("  %-40s %g%s\n", m.name.c_str(), m.value, m.unit.c_str());
  }
  for (const auto& [k, v] : r.details) {
    std::printf("  %-40s %s\n", k.c_str(), v.c_str());
  }
}

// Exit codes follow the monitoring-plugin convention, so scripts can use them directly.
int ExitCodeFor(const CheckResult& r) { return static_cast<int>(r.status); }

}  // namespace

struct CheckOptions {
  std::string name, input, tool = "restic", target;
  int exit_code = 0;
  int warn_hours = 26, crit_hours = 48, utc_offset_minutes = 0;
};

int RunCheck(const CheckOptions& o) {
  const auto& [name, input, tool, target, exit_code, warn_hours, crit_hours, utc_offset_minutes] =
      o;
  auto text = ReadInput(input);
  if (!text) {
    std::fprintf(stderr, "vigil-agent: %s\n", text.error().message().c_str());
    return 64;
  }
  vigil::SystemClock clock;
  Result<CheckResult> result = vigil::InvalidArgument("unknown check");
  if (name == "smart") {
    result = vigil::checks::ParseSmartctl(*text);
  } else if (name == "plugin") {
    result = vigil::checks::ParsePluginOutput(exit_code, *text, target.empty() ? input : target);
  } else if (tool == "restic" || tool == "borg") {
    auto snapshots = tool == "restic" ? vigil::checks::ParseResticSnapshots(*text)
                                      : vigil::checks::ParseBorgList(
                                            *text, std::chrono::minutes(utc_offset_minutes));
    if (snapshots) {
      result = vigil::checks::EvaluateBackup(
          *snapshots, clock.Now(), std::chrono::hours(warn_hours), std::chrono::hours(crit_hours),
          target.empty() ? tool + ":" + input : target);
    } else {
      result = snapshots.error();
    }
  } else {
    struct stat st {};
    if (stat(input.c_str(), &st) != 0) {
      std::fprintf(stderr, "vigil-agent: cannot stat %s\n", input.c_str());
      return 64;
    }
    auto mtime =
        vigil::FromUnixMillis(int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1'000'000);
    auto when = vigil::checks::ParseMarkerFile(*text, mtime);
    if (when) {
      vigil::checks::BackupSnapshot s;
      s.time = *when;
      result = vigil::checks::EvaluateBackup({s}, clock.Now(), std::chrono::hours(warn_hours),
                                             std::chrono::hours(crit_hours),
                                             target.empty() ? "marker:" + input : target);
    } else {
      result = when.error();
    }
  }
  if (!result) {
    std::fprintf(stderr, "vigil-agent: check %s: %s\n", name.c_str(),
                 result.error().message().c_str());
    return 64;
  }
  PrintHuman(*result);
  return ExitCodeFor(*result);
}

CommandRunner AddCheckCommand(CLI::App& app) {
  auto opts = std::make_shared<CheckOptions>();
  auto& [name, input, tool, target, exit_code, warn_hours, crit_hours, utc_offset_minutes] = *opts;
  auto* check = app.add_subcommand("check", "run one check once and print its result");
  check->add_option("name", name, "smart, backup or plugin")
      ->required()
      ->check(CLI::IsMember({"smart", "backup", "plugin"}));
  check->add_option("--input", input, "read the tool's recorded output from this file")->required();
  check->add_option("--tool", tool, "backup: restic, borg or marker")
      ->check(CLI::IsMember({"restic", "borg", "marker"}))
      ->capture_default_str();
  check->add_option("--target", target, "what was checked (repository, plugin name)");
  check->add_option("--exit-code", exit_code, "plugin: the plugin's exit code")
      ->check(CLI::Range(0, 255));
  check->add_option("--warn-hours", warn_hours, "backup: warn when the newest is older")
      ->capture_default_str();
  check->add_option("--crit-hours", crit_hours, "backup: critical when the newest is older")
      ->capture_default_str();
  check->add_option("--utc-offset-minutes", utc_offset_minutes,
                    "borg: the local time zone's offset of the machine that listed the archives");

  return [check, opts]() -> std::optional<int> {
    if (!check->parsed()) {
      return std::nullopt;
    }
    return RunCheck(*opts);
  };
}

}  // namespace vigil::agent
