// The `updates` collector (Debian and Ubuntu): pending updates from a simulated dist-upgrade,
// the reboot-required flag and the age of the package lists. Parsing and thresholds live in
// checks/updates.{h,cc}. Systems without apt-get report "unknown" (other package managers later).

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>

#include "agent/checks/updates.h"
#include "agent/collect/linux_collectors.h"
#include "core/strings.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;

std::optional<TimePoint> Mtime(const std::string& path) {
  std::error_code ec;
  auto t = fs::last_write_time(path, ec);
  if (ec) {
    return std::nullopt;
  }
  auto sys = std::chrono::file_clock::to_sys(t);
  return std::chrono::time_point_cast<std::chrono::milliseconds>(sys);
}

std::string ReadSmallFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::string out(max_bytes, '\0');
  in.read(out.data(), static_cast<std::streamsize>(max_bytes));
  out.resize(in ? max_bytes : static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return out;
}

// The last successful `apt-get update`: the periodic stamp apt's daily job touches, else the
// newest of lists/partial and the lists' *_InRelease files.
std::optional<TimePoint> LastAptUpdate(const SystemPaths& paths) {
  if (auto t = Mtime(paths.Path("/var/lib/apt/periodic/update-success-stamp"))) {
    return t;
  }
  std::optional<TimePoint> newest = Mtime(paths.Path("/var/lib/apt/lists/partial"));
  std::error_code ec;
  size_t seen = 0;
  for (fs::directory_iterator it(paths.Path("/var/lib/apt/lists"), ec), end; !ec && it != end;
       it.increment(ec)) {
    if (++seen > 10'000) {
      break;
    }
    std::string name = it->path().filename().string();
    if (!name.ends_with("_InRelease")) {
      continue;
    }
    if (auto t = Mtime(it->path().string()); t && (!newest || *t > *newest)) {
      newest = t;
    }
  }
  return newest;
}

std::string FirstLine(std::string_view text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) {
    return "";
  }
  text.remove_prefix(start);
  return SanitizeText(text.substr(0, text.find('\n')), 200);
}

proto::CheckResult Unknown(std::string message) {
  proto::CheckResult r;
  r.check = "updates";
  r.status = proto::CheckStatus::kUnknown;
  r.message = std::move(message);
  return r;
}

class UpdatesCollector final : public Collector {
 public:
  std::string_view name() const override { return "updates"; }

  std::vector<proto::CheckResult> Collect(const CollectContext& ctx) override {
    ToolRequest req;
    req.argv = {"apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade"};
    req.timeout = ctx.timeout;
    req.max_output_bytes = checks::kMaxAptOutputBytes;
    auto out = ctx.tools.Run(req);
    if (!out) {
      if (out.error().code() == ErrorCode::kNotFound) {
        return {Unknown("apt not found")};
      }
      return {Unknown("cannot run apt-get: " + SanitizeText(out.error().message(), 200))};
    }
    if (out->timed_out) {
      return {Unknown(fmt::format("apt-get -s dist-upgrade timed out after {} s",
                                  std::chrono::ceil<std::chrono::seconds>(req.timeout).count()))};
    }
    if (out->exit_code != 0) {
      std::string why = FirstLine(out->err);
      return {Unknown(fmt::format("apt-get -s dist-upgrade failed (exit code {}){}{}",
                                  out->exit_code, why.empty() ? "" : ": ", why))};
    }
    if (out->truncated) {
      return {Unknown("apt-get output too large")};
    }
    auto sim = checks::ParseAptSimulation(out->out);
    if (!sim) {
      return {Unknown("cannot parse apt-get output: " + SanitizeText(sim.error().message(), 200))};
    }
    checks::UpdatesState state;
    state.apt = std::move(*sim);
    std::error_code ec;
    state.reboot_required = fs::exists(ctx.paths.Path("/var/run/reboot-required"), ec);
    if (state.reboot_required) {
      state.reboot_packages = checks::ParseRebootRequiredPackages(
          ReadSmallFile(ctx.paths.Path("/var/run/reboot-required.pkgs"), 64 * 1024));
    }
    state.last_update = LastAptUpdate(ctx.paths);
    const auto& c = ctx.config;
    return {checks::EvaluateUpdates(state, ctx.now,
                                    {.warn_pending = c.updates_warn_pending,
                                     .crit_security = c.updates_crit_security,
                                     .warn_days_since = c.updates_warn_days_since})};
  }
};

}  // namespace

std::unique_ptr<Collector> MakeUpdatesCollector() { return std::make_unique<UpdatesCollector>(); }

}  // namespace vigil::agent
