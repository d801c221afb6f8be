// The `services` collector (systemd): one result per configured unit (services_units) and one
// for the host counting failed units. Without systemd as the init system (no /run/systemd/system)
// it reports "unknown" rather than failing. Parsing lives in checks/services.{h,cc}.

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>

#include "agent/checks/services.h"
#include "agent/collect/linux_collectors.h"
#include "core/strings.h"

namespace vigil::agent {
namespace {

proto::CheckResult Unknown(std::string target, std::string message) {
  proto::CheckResult r;
  r.check = "services";
  r.target = std::move(target);
  r.status = proto::CheckStatus::kUnknown;
  r.message = std::move(message);
  return r;
}

std::string FirstLine(std::string_view text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) {
    return "";
  }
  text.remove_prefix(start);
  return SanitizeText(text.substr(0, text.find('\n')), 200);
}

class ServicesCollector final : public Collector {
 public:
  std::string_view name() const override { return "services"; }

  std::vector<proto::CheckResult> Collect(const CollectContext& ctx) override {
    std::error_code ec;
    if (!std::filesystem::exists(ctx.paths.Path("/run/systemd/system"), ec)) {
      return {Unknown("", "systemd is not running")};
    }
    auto deadline = std::chrono::steady_clock::now() + ctx.timeout;
    auto remaining = [&] {
      return std::max(std::chrono::milliseconds(100),
                      std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now()));
    };
    auto run = [&](std::vector<std::string> argv) -> Result<std::string> {
      ToolRequest req;
      req.argv = std::move(argv);
      req.timeout = remaining();
      req.max_output_bytes = checks::kMaxSystemctlOutputBytes;
      auto out = ctx.tools.Run(req);
      if (!out) {
        return out.error();
      }
      if (out->timed_out) {
        return Unavailable("systemctl timed out");
      }
      // `systemctl show` exits 0 even for unknown units; list-units exits 0. Anything else is a
      // real failure (no D-Bus, permission).
      if (out->exit_code != 0) {
        std::string why = FirstLine(out->err);
        return Unavailable(fmt::format("systemctl failed (exit code {}){}{}", out->exit_code,
                                       why.empty() ? "" : ": ", why));
      }
      return std::move(out->out);
    };

    std::vector<proto::CheckResult> results;
    for (const std::string& unit : ctx.config.services_units) {
      std::string target = SanitizeText(unit, checks::kMaxUnitNameBytes);
      if (!checks::IsValidUnitName(unit)) {
        results.push_back(Unknown(target, "invalid unit name"));
        continue;
      }
      auto out = run({"systemctl", "show", "-p", "LoadState", "-p", "ActiveState", "-p", "SubState",
                      "--", unit});
      if (!out) {
        results.push_back(Unknown(target, SanitizeText(out.error().message(), 250)));
        continue;
      }
      auto st = checks::ParseSystemctlShow(*out);
      if (!st) {
        results.push_back(Unknown(
            target, "cannot parse systemctl show: " + SanitizeText(st.error().message(), 200)));
        continue;
      }
      results.push_back(checks::EvaluateRequiredUnit(unit, *st));
    }
    auto out =
        run({"systemctl", "list-units", "--state=failed", "--plain", "--no-legend", "--no-pager"});
    if (!out) {
      results.push_back(Unknown("", SanitizeText(out.error().message(), 250)));
    } else if (auto failed = checks::ParseFailedUnits(*out); !failed) {
      results.push_back(Unknown(
          "", "cannot parse systemctl list-units: " + SanitizeText(failed.error().message(), 200)));
    } else {
      results.push_back(checks::EvaluateFailedUnits(*failed, ctx.config.services_max_failed));
    }
    return results;
  }
};

}  // namespace

std::unique_ptr<Collector> MakeServicesCollector() { return std::make_unique<ServicesCollector>(); }

}  // namespace vigil::agent
