// The `firewall` collector: the nftables ruleset (`nft -j list ruleset`), or `iptables-save`
// where nft is absent, plus ufw's state when ufw is installed. Parsing and the verdict live in
// checks/firewall.{h,cc}.

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>

#include "agent/checks/firewall.h"
#include "agent/collect/linux_collectors.h"
#include "core/strings.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;

proto::CheckResult Unknown(std::string message) {
  proto::CheckResult r;
  r.check = "firewall";
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

// Runs `argv`; returns its stdout, or a failed Status whose message describes the failure
// (kNotFound when the program is absent).
Result<std::string> RunTool(const CollectContext& ctx, std::vector<std::string> argv) {
  ToolRequest req;
  req.argv = std::move(argv);
  req.timeout = ctx.timeout;
  req.max_output_bytes = checks::kMaxFirewallOutputBytes;
  auto out = ctx.tools.Run(req);
  if (!out) {
    return out.error();
  }
  if (out->timed_out) {
    return Unavailable(fmt::format("{} timed out", req.argv[0]));
  }
  if (out->exit_code != 0) {
    std::string why = FirstLine(out->err);
    return Unavailable(fmt::format("{} failed (exit code {}){}{}", req.argv[0], out->exit_code,
                                   why.empty() ? "" : ": ", why));
  }
  if (out->truncated) {
    return Unavailable(fmt::format("{} output too large", req.argv[0]));
  }
  return std::move(out->out);
}

std::optional<checks::UfwState> Ufw(const CollectContext& ctx) {
  std::string conf_path = ctx.paths.Path("/etc/ufw/ufw.conf");
  std::error_code ec;
  if (!fs::exists(conf_path, ec)) {
    return std::nullopt;
  }
  std::ifstream in(conf_path, std::ios::binary);
  std::string conf(64 * 1024, '\0');
  in.read(conf.data(), static_cast<std::streamsize>(conf.size()));
  conf.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  checks::UfwState st;
  st.enabled_in_config = checks::ParseUfwConfEnabled(conf);
  ToolRequest req;
  req.argv = {"ufw", "status"};
  req.timeout = std::min<std::chrono::milliseconds>(ctx.timeout, std::chrono::seconds(10));
  req.max_output_bytes = 1 << 20;
  if (auto out = ctx.tools.Run(req); out && !out->timed_out) {
    st.active = checks::ParseUfwStatus(out->out);
  }
  return st;
}

class FirewallCollector final : public Collector {
 public:
  std::string_view name() const override { return "firewall"; }

  std::vector<proto::CheckResult> Collect(const CollectContext& ctx) override {
    Result<checks::FirewallRuleset> rs = NotFound("");
    auto nft = RunTool(ctx, {"nft", "-j", "list", "ruleset"});
    if (nft) {
      rs = checks::ParseNftJson(*nft);
      if (!rs) {
        return {Unknown("cannot parse nft output: " + SanitizeText(rs.error().message(), 200))};
      }
    } else if (nft.error().code() == ErrorCode::kNotFound) {
      auto ipt = RunTool(ctx, {"iptables-save"});
      if (!ipt) {
        if (ipt.error().code() == ErrorCode::kNotFound) {
          return {Unknown("no firewall tool found (nft, iptables-save)")};
        }
        return {Unknown(SanitizeText(ipt.error().message(), 250))};
      }
      rs = checks::ParseIptablesSave(*ipt);
      if (!rs) {
        return {Unknown("cannot parse iptables-save output: " +
                        SanitizeText(rs.error().message(), 200))};
      }
    } else {
      return {Unknown(SanitizeText(nft.error().message(), 250))};
    }
    return {checks::EvaluateFirewall(*rs, Ufw(ctx), ctx.config.firewall_required)};
  }
};

}  // namespace

std::unique_ptr<Collector> MakeFirewallCollector() { return std::make_unique<FirewallCollector>(); }

}  // namespace vigil::agent
