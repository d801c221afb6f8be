// The `antivirus` collector (ClamAV): signature age from the daily database's header, and the
// state of the scanner (clamd) and updater (freshclam): through `systemctl is-active` when
// systemd runs, else by process name in /proc/*/comm. Parsing and thresholds live in
// checks/antivirus.{h,cc}.

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>

#include "agent/checks/antivirus.h"
#include "agent/collect/linux_collectors.h"
#include "core/strings.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;

bool Exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

std::optional<fs::file_time_type> Mtime(const std::string& path) {
  std::error_code ec;
  auto t = fs::last_write_time(path, ec);
  if (ec) {
    return std::nullopt;
  }
  return t;
}

bool AnyExists(const SystemPaths& paths, std::initializer_list<std::string_view> files) {
  return std::any_of(files.begin(), files.end(),
                     [&](std::string_view f) { return Exists(paths.Path(f)); });
}

// Names of running processes (/proc/<pid>/comm), bounded.
std::vector<std::string> ProcessNames(const SystemPaths& paths) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(paths.Path("/proc"), ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string pid = it->path().filename().string();
    if (pid.empty() || !std::all_of(pid.begin(), pid.end(),
                                    [](unsigned char c) { return std::isdigit(c) != 0; })) {
      continue;
    }
    std::ifstream in(it->path() / "comm");
    std::string comm;
    if (std::getline(in, comm)) {
      names.push_back(comm.substr(0, 64));
    }
    if (names.size() >= 100'000) {
      break;
    }
  }
  return names;
}

checks::ServiceState SystemdState(const CollectContext& ctx, const std::string& unit) {
  ToolRequest req;
  req.argv = {"systemctl", "is-active", "--", unit};
  req.timeout = std::min<std::chrono::milliseconds>(ctx.timeout, std::chrono::seconds(10));
  req.max_output_bytes = 4096;
  auto out = ctx.tools.Run(req);
  if (!out || out->timed_out) {
    return checks::ServiceState::kUnknown;
  }
  std::string_view s = out->out;
  s = s.substr(0, s.find('\n'));
  if (s == "active" || s == "reloading" || s == "activating") {
    return checks::ServiceState::kRunning;
  }
  if (s == "inactive" || s == "failed" || s == "deactivating") {
    return checks::ServiceState::kStopped;
  }
  return checks::ServiceState::kUnknown;
}

class AntivirusCollector final : public Collector {
 public:
  std::string_view name() const override { return "antivirus"; }

  std::vector<proto::CheckResult> Collect(const CollectContext& ctx) override {
    const auto& c = ctx.config;
    checks::AntivirusState st;
    std::string db_dir = ctx.paths.Path(c.antivirus_database_dir);
    bool have_scanner = AnyExists(ctx.paths, {"/usr/sbin/clamd", "/usr/bin/clamd"});
    bool have_updater = AnyExists(ctx.paths, {"/usr/bin/freshclam", "/usr/sbin/freshclam"});
    bool have_clamscan = AnyExists(ctx.paths, {"/usr/bin/clamscan", "/usr/local/bin/clamscan"});
    st.present = Exists(db_dir) || have_scanner || have_updater || have_clamscan;
    if (st.present) {
      // freshclam keeps daily.cld (incremental) or daily.cvd (whole); take the newer one.
      std::optional<fs::file_time_type> newest;
      for (const char* f : {"daily.cld", "daily.cvd"}) {
        std::string path = (fs::path(db_dir) / f).string();
        auto t = Mtime(path);
        if (t && (!newest || *t > *newest)) {
          newest = t;
          st.database_file = (fs::path(c.antivirus_database_dir) / f).string();
        }
      }
      if (!st.database_file.empty()) {
        std::ifstream in(ctx.paths.Path(st.database_file), std::ios::binary);
        std::string header(checks::kCvdHeaderBytes, '\0');
        in.read(header.data(), static_cast<std::streamsize>(header.size()));
        header.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
        auto info = checks::ParseClamavDatabaseHeader(header);
        if (info) {
          st.database = *info;
        } else {
          st.database_error = info.error().message();
        }
      }
      bool systemd = Exists(ctx.paths.Path("/run/systemd/system"));
      std::vector<std::string> procs;
      if (!systemd && (have_scanner || have_updater)) {
        procs = ProcessNames(ctx.paths);
      }
      auto state = [&](bool installed, const std::string& unit, std::string_view comm) {
        if (!installed) {
          return checks::ServiceState::kNotInstalled;
        }
        if (systemd) {
          return SystemdState(ctx, unit);
        }
        return std::find(procs.begin(), procs.end(), comm) != procs.end()
                   ? checks::ServiceState::kRunning
                   : checks::ServiceState::kStopped;
      };
      st.scanner = state(have_scanner, "clamav-daemon.service", "clamd");
      st.updater = state(have_updater, "clamav-freshclam.service", "freshclam");
    }
    return {checks::EvaluateAntivirus(st, ctx.now,
                                      {.warn_hours = c.antivirus_warn_hours,
                                       .crit_hours = c.antivirus_crit_hours,
                                       .required = c.antivirus_required})};
  }
};

}  // namespace

std::unique_ptr<Collector> MakeAntivirusCollector() {
  return std::make_unique<AntivirusCollector>();
}

}  // namespace vigil::agent
