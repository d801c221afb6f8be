// The collectors that run external tools: smart (smartctl), backup (restic, borg, a marker file)
// and plugin (monitoring plugins). The tools' outputs are parsed by agent/checks/{smart,backup,
// plugin}.h; this file decides what to run and maps the tools' failures to results.

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <map>
#include <mutex>

#include "agent/checks/backup.h"
#include "agent/checks/plugin.h"
#include "agent/checks/smart.h"
#include "agent/collect/linux_collectors.h"
#include "core/json.h"
#include "core/strings.h"

namespace vigil::agent {
namespace {

using proto::CheckResult;
using proto::CheckStatus;

constexpr size_t kMaxToolMessageBytes = 300;
constexpr size_t kMaxSmartDevices = 256;
constexpr size_t kMaxMarkerBytes = 4096;

// Folders monitoring plugins may be run from. A plugin's path is resolved with realpath() first, so
// "/usr/lib/nagios/plugins/../../../bin/sh" and symlinks pointing elsewhere are refused.
constexpr std::string_view kPluginFolders[] = {
    "/usr/lib/nagios/plugins", "/usr/lib/monitoring-plugins", "/usr/local/lib/nagios/plugins",
    "/etc/vigil/plugins"};

CheckResult MakeResult(std::string_view check, CheckStatus status, std::string message,
                       std::string target = "") {
  CheckResult r;
  r.check = std::string(check);
  r.target = std::move(target);
  r.status = status;
  r.message = std::move(message);
  return r;
}

int64_t Seconds(std::chrono::milliseconds d) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return s > 0 ? s : 1;
}

// The first non-empty line of a tool's stderr, one line of valid UTF-8.
std::string FirstLine(std::string_view text) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
      line.remove_suffix(1);
    }
    if (!line.empty()) {
      return SanitizeText(line, kMaxToolMessageBytes);
    }
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// smart

struct SmartDevice {
  std::string name;  // "/dev/sda"
  std::string type;  // smartctl's -d type ("sat", "nvme"), "" to let smartctl guess
};

// `smartctl --scan-open --json`: {"devices":[{"name":"/dev/sda","type":"sat",...}]}. Devices whose
// name does not start with "/dev/" are skipped (the name becomes an argument of smartctl).
std::vector<SmartDevice> ParseSmartScan(std::string_view text) {
  std::vector<SmartDevice> out;
  auto j = json::Parse(text, {.max_bytes = 1 << 20, .max_depth = 8});
  if (!j || !j->is_object()) {
    return out;
  }
  auto devices = j->find("devices");
  if (devices == j->end() || !devices->is_array()) {
    return out;
  }
  for (const auto& d : *devices) {
    if (out.size() >= kMaxSmartDevices || !d.is_object()) {
      break;
    }
    auto name = d.find("name");
    if (name == d.end() || !name->is_string()) {
      continue;
    }
    SmartDevice dev{name->get<std::string>(), ""};
    if (dev.name.rfind("/dev/", 0) != 0 || dev.name.size() > 256) {
      continue;
    }
    auto type = d.find("type");
    if (type != d.end() && type->is_string()) {
      std::string t = type->get<std::string>();
      bool safe =
          !t.empty() && t.size() <= 64 && t[0] != '-' &&
          t.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_,+") == std::string::npos;
      if (safe) {
        dev.type = t;
      }
    }
    out.push_back(std::move(dev));
  }
  return out;
}

class SmartCollector final : public Collector {
 public:
  std::string_view name() const override { return "smart"; }

  std::vector<CheckResult> Collect(const CollectContext& ctx) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<SmartDevice> devices;
    for (const std::string& d : ctx.config.smart_devices) {
      devices.push_back({d, ""});
    }
    if (devices.empty()) {
      ToolRequest scan{{"smartctl", "--scan-open", "--json"}, ctx.timeout, 1 << 20, {}};
      auto out = ctx.tools.Run(scan);
      if (!out) {
        return {Missing(out.error())};
      }
      if (out->timed_out) {
        return {MakeResult(
            name(), CheckStatus::kUnknown,
            fmt::format("smartctl --scan-open did not finish within {}s", Seconds(ctx.timeout)))};
      }
      devices = ParseSmartScan(out->out);
    }
    if (devices.empty()) {
      return {MakeResult(name(), CheckStatus::kOk, "no disks with SMART found")};
    }
    std::vector<CheckResult> results;
    for (const SmartDevice& d : devices) {
      ToolRequest req;
      req.argv = {"smartctl", "--json", "-a"};
      if (!d.type.empty()) {
        req.argv.push_back("-d");
        req.argv.push_back(d.type);
      }
      req.argv.push_back(d.name);
      req.timeout = ctx.timeout;
      auto out = ctx.tools.Run(req);
      if (!out) {
        results.push_back(Missing(out.error(), d.name));
        continue;
      }
      if (out->timed_out) {
        results.push_back(MakeResult(
            name(), CheckStatus::kUnknown,
            fmt::format("smartctl did not finish within {}s", Seconds(ctx.timeout)), d.name));
        continue;
      }
      auto prev = counters_.find(d.name);
      auto reading =
          checks::ParseSmartctlReading(out->out, prev == counters_.end() ? nullptr : &prev->second);
      if (!reading) {
        std::string why = FirstLine(out->err);
        results.push_back(MakeResult(
            name(), CheckStatus::kUnknown,
            "cannot read smartctl's report: " + (why.empty() ? reading.error().message() : why),
            d.name));
        continue;
      }
      counters_[d.name] = reading->counters;
      if (reading->result.target.empty()) {
        reading->result.target = d.name;
      }
      results.push_back(std::move(reading->result));
    }
    return results;
  }

 private:
  CheckResult Missing(const Status& s, std::string target = "") const {
    if (s.code() == ErrorCode::kNotFound) {
      return MakeResult(name(), CheckStatus::kUnknown, "smartctl not installed", std::move(target));
    }
    return MakeResult(name(), CheckStatus::kUnknown, "cannot run smartctl: " + s.message(),
                      std::move(target));
  }

  std::mutex mu_;
  std::map<std::string, checks::SmartCounters> counters_;  // guarded by mu_; per device
};

// ---------------------------------------------------------------------------------------------
// backup

// `s` quoted for a POSIX shell / Python's shlex (borg splits BORG_PASSCOMMAND with shlex).
std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out += "'";
  return out;
}

std::chrono::minutes LocalUtcOffset(TimePoint now) {
  time_t t = std::chrono::system_clock::to_time_t(now);
  struct tm local {};
  if (localtime_r(&t, &local) == nullptr) {
    return std::chrono::minutes(0);
  }
  return std::chrono::minutes(local.tm_gmtoff / 60);
}

CheckResult RunBackupTool(const CollectContext& ctx, const proto::BackupSource& src) {
  const std::string target = src.tool + ":" + src.repository;
  ToolRequest req;
  req.timeout = ctx.timeout;
  req.max_output_bytes = checks::kMaxBackupJsonBytes + 1;
  if (src.tool == "restic") {
    req.argv = {"restic", "-r", src.repository};
    if (!src.password_file.empty()) {
      req.argv.push_back("--password-file");
      req.argv.push_back(src.password_file);
    }
    req.argv.insert(req.argv.end(), {"--no-lock", "snapshots", "--json"});
  } else {
    req.argv = {"borg", "list", "--json", src.repository};
    if (!src.password_file.empty()) {
      req.env.emplace_back("BORG_PASSCOMMAND", "cat " + ShellQuote(src.password_file));
    }
    req.env.emplace_back("BORG_RELOCATED_REPO_ACCESS_IS_OK", "yes");
    req.env.emplace_back("BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "yes");
  }
  auto out = ctx.tools.Run(req);
  if (!out) {
    if (out.error().code() == ErrorCode::kNotFound) {
      return MakeResult("backup", CheckStatus::kUnknown, src.tool + " not installed", target);
    }
    return MakeResult("backup", CheckStatus::kUnknown,
                      "cannot run " + src.tool + ": " + out.error().message(), target);
  }
  if (out->timed_out) {
    return MakeResult("backup", CheckStatus::kUnknown,
                      fmt::format("{} did not finish within {}s", src.tool, Seconds(ctx.timeout)),
                      target);
  }
  if (out->exit_code != 0) {
    return checks::ClassifyBackupToolError(src.tool, out->exit_code, out->err, target);
  }
  auto snapshots = src.tool == "restic" ? checks::ParseResticSnapshots(out->out)
                                        : checks::ParseBorgList(out->out, LocalUtcOffset(ctx.now));
  if (!snapshots) {
    return MakeResult("backup", CheckStatus::kUnknown,
                      "cannot read " + src.tool + "'s listing: " + snapshots.error().message(),
                      target);
  }
  return checks::EvaluateBackup(*snapshots, ctx.now, std::chrono::hours(src.warn_hours),
                                std::chrono::hours(src.crit_hours), target);
}

CheckResult CheckMarker(const CollectContext& ctx, const proto::BackupSource& src) {
  const std::string target = "marker:" + src.repository;
  struct stat st {};
  if (::stat(src.repository.c_str(), &st) != 0) {
    return MakeResult("backup", CheckStatus::kCritical,
                      "marker file " + src.repository + ": " + std::strerror(errno), target);
  }
  if (!S_ISREG(st.st_mode)) {
    return MakeResult("backup", CheckStatus::kCritical,
                      "marker file " + src.repository + " is not a regular file", target);
  }
  std::ifstream in(src.repository, std::ios::binary);
  std::string content(kMaxMarkerBytes, '\0');
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  content.resize(static_cast<size_t>(in.gcount()));
  TimePoint mtime =
      FromUnixMillis(int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1'000'000);
  auto when = checks::ParseMarkerFile(content, mtime);
  if (!when) {
    return MakeResult("backup", CheckStatus::kCritical,
                      "marker file " + src.repository + ": " + when.error().message(), target);
  }
  checks::BackupSnapshot s;
  s.time = *when;
  return checks::EvaluateBackup({s}, ctx.now, std::chrono::hours(src.warn_hours),
                                std::chrono::hours(src.crit_hours), target);
}

class BackupCollector final : public Collector {
 public:
  std::string_view name() const override { return "backup"; }

  std::vector<CheckResult> Collect(const CollectContext& ctx) override {
    if (ctx.config.backup_sources.empty()) {
      return {MakeResult(name(), CheckStatus::kOk, "no backup sources configured")};
    }
    std::vector<CheckResult> out;
    for (const proto::BackupSource& src : ctx.config.backup_sources) {
      if (src.tool == "restic" || src.tool == "borg") {
        out.push_back(RunBackupTool(ctx, src));
      } else if (src.tool == "marker") {
        out.push_back(CheckMarker(ctx, src));
      } else {
        out.push_back(MakeResult(name(), CheckStatus::kUnknown,
                                 "unknown backup tool " + SanitizeText(src.tool, 64),
                                 src.tool + ":" + src.repository));
      }
    }
    return out;
  }
};

// ---------------------------------------------------------------------------------------------
// plugin

// The canonical path of `program` when it lies inside one of kPluginFolders.
std::optional<std::string> AllowedPluginPath(const std::string& program) {
  if (program.empty() || program[0] != '/') {
    return std::nullopt;
  }
  char resolved[PATH_MAX];
  if (::realpath(program.c_str(), resolved) == nullptr) {
    return std::nullopt;
  }
  std::string path = resolved;
  for (std::string_view folder : kPluginFolders) {
    char real_folder[PATH_MAX];
    std::string dir = ::realpath(std::string(folder).c_str(), real_folder) != nullptr
                          ? std::string(real_folder)
                          : std::string(folder);
    if (path.size() > dir.size() + 1 && path.compare(0, dir.size(), dir) == 0 &&
        path[dir.size()] == '/') {
      return path;
    }
  }
  return std::nullopt;
}

class PluginCollector final : public Collector {
 public:
  std::string_view name() const override { return "plugin"; }

  std::vector<CheckResult> Collect(const CollectContext& ctx) override {
    if (ctx.config.plugins.empty()) {
      return {MakeResult(name(), CheckStatus::kOk, "no plugins configured")};
    }
    std::vector<CheckResult> out;
    for (const proto::PluginSpec& spec : ctx.config.plugins) {
      out.push_back(RunPlugin(ctx, spec));
    }
    return out;
  }

 private:
  CheckResult RunPlugin(const CollectContext& ctx, const proto::PluginSpec& spec) const {
    if (spec.command.empty()) {
      return MakeResult(name(), CheckStatus::kUnknown, "plugin has no command", spec.name);
    }
    std::optional<std::string> path = AllowedPluginPath(spec.command[0]);
    if (!path) {
      struct stat st {};
      bool exists = !spec.command[0].empty() && spec.command[0][0] == '/' &&
                    ::stat(spec.command[0].c_str(), &st) == 0;
      return MakeResult(
          name(), CheckStatus::kUnknown,
          exists ? "plugin not in an allowed folder: " + SanitizeText(spec.command[0], 256)
                 : "plugin not found or not in an allowed folder: " +
                       SanitizeText(spec.command[0], 256),
          spec.name);
    }
    ToolRequest req;
    req.argv = spec.command;
    req.argv[0] = *path;
    req.timeout = ctx.timeout;
    req.max_output_bytes = checks::kMaxPluginOutputBytes;
    auto run = ctx.tools.Run(req);
    if (!run) {
      return MakeResult(name(), CheckStatus::kUnknown,
                        "cannot run plugin " + *path + ": " + run.error().message(), spec.name);
    }
    if (run->timed_out) {
      return MakeResult(name(), CheckStatus::kUnknown,
                        fmt::format("plugin did not finish within {}s", Seconds(ctx.timeout)),
                        spec.name);
    }
    // Plugins print to stdout; a plugin that fails early often only writes stderr.
    std::string_view text = run->out.empty() ? std::string_view(run->err) : run->out;
    return checks::ParsePluginOutput(run->exit_code, text, spec.name);
  }
};

}  // namespace

std::unique_ptr<Collector> MakeSmartCollector() { return std::make_unique<SmartCollector>(); }
std::unique_ptr<Collector> MakeBackupCollector() { return std::make_unique<BackupCollector>(); }
std::unique_ptr<Collector> MakePluginCollector() { return std::make_unique<PluginCollector>(); }

}  // namespace vigil::agent
