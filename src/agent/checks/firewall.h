#pragma once

// Parsers and evaluation for the agent's `firewall` check: is inbound traffic filtered?
//
// Sources, in the collector's order of preference (collect/firewall.cc):
//   - nftables: `nft -j list ruleset` (libnftables JSON schema 1: {"nftables":[{"metainfo":..},
//     {"table":{..}}, {"chain":{"family","table","name","type","hook","prio","policy"}},
//     {"rule":{"family","table","chain","expr":[..]}}, {"set":..}, ...]});
//   - iptables: `iptables-save` text ("*filter", ":INPUT DROP [0:0]", "-A INPUT ...", "COMMIT");
//   - ufw: /etc/ufw/ufw.conf (ENABLED=yes) and `ufw status` ("Status: active").
//
// Pure functions of text; the tools' output is untrusted (bounded, never throws or aborts).
//
// Thread safety: free functions without shared state; call from any thread.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "proto/check.h"

namespace vigil::checks {

inline constexpr size_t kMaxFirewallOutputBytes = 32u << 20;
inline constexpr size_t kMaxInputChainsKept = 32;

// A base chain attached to the input hook (nftables) or the INPUT chain of the filter table
// (iptables).
struct InputChain {
  std::string family;  // "inet", "ip", "ip6" (nftables); "ipv4" (iptables)
  std::string table;   // "filter"
  std::string name;    // "input", "INPUT"
  std::string policy;  // "accept", "drop" (lower case; iptables "DROP" → "drop")
  size_t rules = 0;    // rules in this chain
  bool operator==(const InputChain&) const = default;
};

struct FirewallRuleset {
  std::string backend;  // "nftables" or "iptables"
  size_t tables = 0;
  size_t chains = 0;
  size_t rules = 0;                      // in all tables and chains
  std::vector<InputChain> input_chains;  // at most kMaxInputChainsKept
};

// Parses `nft -j list ruleset`. Unknown objects (sets, maps, flowtables...) are ignored.
// Errors: kPayloadTooLarge past kMaxFirewallOutputBytes; kInvalidArgument for malformed JSON,
// no "nftables" array, or a chain/rule whose family/table/name is not a string.
Result<FirewallRuleset> ParseNftJson(std::string_view json);

// Parses `iptables-save` output. Input chains: ":INPUT <policy>" in "*filter".
// Errors: kPayloadTooLarge; kInvalidArgument for a rule or chain line outside a table.
Result<FirewallRuleset> ParseIptablesSave(std::string_view text);

struct UfwState {
  bool enabled_in_config = false;  // ENABLED=yes in /etc/ufw/ufw.conf
  std::optional<bool> active;      // `ufw status`: "Status: active" / "inactive"; unknown if unset
};

// ENABLED=yes|no in ufw.conf (shell syntax, quotes allowed, comments skipped); false if absent.
bool ParseUfwConfEnabled(std::string_view text);
// "Status: active" → true, "Status: inactive" → false, anything else → nullopt.
std::optional<bool> ParseUfwStatus(std::string_view text);

// The `firewall` check's result (target = ruleset.backend). Inbound traffic counts as filtered
// when an input chain has a drop/reject policy or holds rules; otherwise (no input chain at all,
// or only accept-policy input chains without rules) the firewall is "open": critical when
// `required`, else warning. ufw enabled in its configuration but inactive: at least warning.
// Metrics: firewall.rules, firewall.input_rules, firewall.tables. Details: input_policy
// ("inet filter input: drop, ..."), ufw.
proto::CheckResult EvaluateFirewall(const FirewallRuleset& ruleset,
                                    const std::optional<UfwState>& ufw, bool required);

}  // namespace vigil::checks
