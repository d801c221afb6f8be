// Fuzzes the system checks' parsers of tool output and files, then evaluates what was parsed.
// The first byte picks the parser; the rest is its input:
//   0 apt-get simulation (updates)     1 reboot-required.pkgs      2 ClamAV database header
//   3 nft -j list ruleset              4 iptables-save             5 ufw.conf / ufw status
//   6 systemctl show                   7 systemctl list-units      8 PEM certificate
//   9 DER certificate                 10 ping output
// Must never crash, hang or leak; every message and detail must be valid UTF-8.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "agent/checks/antivirus.h"
#include "agent/checks/certificates.h"
#include "agent/checks/firewall.h"
#include "agent/checks/reachability.h"
#include "agent/checks/services.h"
#include "agent/checks/updates.h"
#include "core/json.h"

namespace {

using vigil::proto::CheckResult;

void CheckUtf8(const CheckResult& r) {
  if (!vigil::json::IsValidUtf8(r.message) || !vigil::json::IsValidUtf8(r.target)) {
    std::abort();
  }
  for (const auto& [k, v] : r.details) {
    if (!vigil::json::IsValidUtf8(v)) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  namespace checks = vigil::checks;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const vigil::TimePoint now = vigil::FromUnixMillis(1'795'000'000'000);
  switch (data[0] % 11) {
    case 0: {
      auto sim = checks::ParseAptSimulation(text);
      if (sim) {
        if (sim->security > sim->pending || sim->updates.size() > checks::kMaxAptUpdatesKept) {
          std::abort();
        }
        checks::UpdatesState st{.apt = *sim, .reboot_required = true, .last_update = now};
        CheckUtf8(checks::EvaluateUpdates(st, now, {}));
      }
      break;
    }
    case 1: {
      checks::UpdatesState st;
      st.reboot_required = true;
      st.reboot_packages = checks::ParseRebootRequiredPackages(text);
      CheckUtf8(checks::EvaluateUpdates(st, now, {}));
      break;
    }
    case 2: {
      checks::AntivirusState st;
      st.present = true;
      auto info = checks::ParseClamavDatabaseHeader(text);
      if (info) {
        st.database = *info;
      } else {
        st.database_error = info.error().message();
      }
      CheckUtf8(checks::EvaluateAntivirus(st, now, {}));
      break;
    }
    case 3:
    case 4: {
      auto rs = data[0] % 11 == 3 ? checks::ParseNftJson(text) : checks::ParseIptablesSave(text);
      if (rs) {
        if (rs->input_chains.size() > checks::kMaxInputChainsKept) {
          std::abort();
        }
        CheckUtf8(checks::EvaluateFirewall(*rs, checks::UfwState{true, false}, true));
      }
      break;
    }
    case 5: {
      (void)checks::ParseUfwConfEnabled(text);
      (void)checks::ParseUfwStatus(text);
      break;
    }
    case 6: {
      auto st = checks::ParseSystemctlShow(text);
      if (st) {
        CheckUtf8(checks::EvaluateRequiredUnit("fuzz.service", *st));
      }
      (void)checks::IsValidUnitName(text);
      break;
    }
    case 7: {
      auto failed = checks::ParseFailedUnits(text);
      if (failed) {
        if (failed->units.size() > failed->count) {
          std::abort();
        }
        CheckUtf8(checks::EvaluateFailedUnits(*failed, 0));
      }
      break;
    }
    case 8:
    case 9: {
      auto cert =
          data[0] % 11 == 8 ? checks::ParsePemCertificate(text) : checks::ParseDerCertificate(text);
      if (cert) {
        CheckUtf8(checks::EvaluateCertificate(*cert, now, 21, 7, "fuzz"));
      }
      break;
    }
    case 10: {
      auto st = checks::ParsePingOutput(text);
      if (st) {
        if (st->received > st->transmitted || st->loss_percent < 0 || st->loss_percent > 100) {
          std::abort();
        }
        CheckUtf8(checks::EvaluatePing(*st, "fuzz", "127.0.0.1"));
      }
      (void)checks::IsValidHostAddress(text);
      CheckUtf8(checks::EvaluateProbe("http", {.connected = false, .error = std::string(text)},
                                      "fuzz", text));
      break;
    }
  }
  return 0;
}
