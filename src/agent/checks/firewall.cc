#include "agent/checks/firewall.h"

#include <fmt/format.h>

#include <map>
#include <tuple>
#include <utility>

#include "core/json.h"
#include "core/strings.h"

namespace vigil::checks {
namespace {

using json::Json;

constexpr size_t kMaxNameBytes = 256;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

Status StringMember(const Json& obj, const char* key, const char* what, size_t index,
                    std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) {
    return InvalidArgument(
        fmt::format("nft ruleset[{}]: {}.{} must be a string", index, what, key));
  }
  out = SanitizeText(it->get_ref<const std::string&>(), kMaxNameBytes);
  return Status::Ok();
}

using ChainKey = std::tuple<std::string, std::string, std::string>;

}  // namespace

Result<FirewallRuleset> ParseNftJson(std::string_view text) {
  if (text.size() > kMaxFirewallOutputBytes) {
    return PayloadTooLarge(fmt::format("nft output longer than {} bytes", kMaxFirewallOutputBytes));
  }
  VIGIL_ASSIGN_OR_RETURN(
      Json j, json::Parse(text, {.max_bytes = kMaxFirewallOutputBytes, .max_depth = 64}));
  if (!j.is_object()) {
    return InvalidArgument("nft ruleset: expected a JSON object");
  }
  auto top = j.find("nftables");
  if (top == j.end() || !top->is_array()) {
    return InvalidArgument("nft ruleset: expected a \"nftables\" array");
  }
  FirewallRuleset rs;
  rs.backend = "nftables";
  std::map<ChainKey, size_t> input_index;  // (family, table, chain) → index in input_chains
  std::map<ChainKey, size_t> rules_per_chain;
  std::vector<InputChain> inputs;
  for (size_t i = 0; i < top->size(); ++i) {
    const Json& e = (*top)[i];
    if (!e.is_object()) {
      return InvalidArgument(fmt::format("nft ruleset[{}]: must be an object", i));
    }
    if (auto t = e.find("table"); t != e.end()) {
      if (!t->is_object()) {
        return InvalidArgument(fmt::format("nft ruleset[{}]: table must be an object", i));
      }
      ++rs.tables;
    } else if (auto c = e.find("chain"); c != e.end()) {
      if (!c->is_object()) {
        return InvalidArgument(fmt::format("nft ruleset[{}]: chain must be an object", i));
      }
      ++rs.chains;
      auto hook = c->find("hook");
      if (hook == c->end() || !hook->is_string() || *hook != "input") {
        continue;
      }
      InputChain ic;
      VIGIL_RETURN_IF_ERROR(StringMember(*c, "family", "chain", i, ic.family));
      VIGIL_RETURN_IF_ERROR(StringMember(*c, "table", "chain", i, ic.table));
      VIGIL_RETURN_IF_ERROR(StringMember(*c, "name", "chain", i, ic.name));
      auto policy = c->find("policy");
      // A base chain without a policy accepts (nft's default).
      ic.policy = policy != c->end() && policy->is_string()
                      ? Lower(SanitizeText(policy->get_ref<const std::string&>(), 32))
                      : "accept";
      ChainKey key{ic.family, ic.table, ic.name};
      if (!input_index.contains(key)) {
        input_index[key] = inputs.size();
        inputs.push_back(std::move(ic));
      }
    } else if (auto r = e.find("rule"); r != e.end()) {
      if (!r->is_object()) {
        return InvalidArgument(fmt::format("nft ruleset[{}]: rule must be an object", i));
      }
      ++rs.rules;
      ChainKey key;
      VIGIL_RETURN_IF_ERROR(StringMember(*r, "family", "rule", i, std::get<0>(key)));
      VIGIL_RETURN_IF_ERROR(StringMember(*r, "table", "rule", i, std::get<1>(key)));
      VIGIL_RETURN_IF_ERROR(StringMember(*r, "chain", "rule", i, std::get<2>(key)));
      ++rules_per_chain[key];
    }
  }
  for (auto& ic : inputs) {
    auto it = rules_per_chain.find({ic.family, ic.table, ic.name});
    ic.rules = it == rules_per_chain.end() ? 0 : it->second;
    if (rs.input_chains.size() < kMaxInputChainsKept) {
      rs.input_chains.push_back(std::move(ic));
    }
  }
  return rs;
}

Result<FirewallRuleset> ParseIptablesSave(std::string_view text) {
  if (text.size() > kMaxFirewallOutputBytes) {
    return PayloadTooLarge(
        fmt::format("iptables-save output longer than {} bytes", kMaxFirewallOutputBytes));
  }
  FirewallRuleset rs;
  rs.backend = "iptables";
  std::string table;
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t input = kNone;  // index of the filter table's INPUT chain
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = TrimSpace(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line.front() == '*') {
      table = SanitizeText(line.substr(1), kMaxNameBytes);
      ++rs.tables;
      input = kNone;
      continue;
    }
    if (line == "COMMIT") {
      table.clear();
      input = kNone;
      continue;
    }
    if (line.front() == ':' || line.starts_with("-A ") || line.starts_with("-I ")) {
      if (table.empty()) {
        return InvalidArgument(
            fmt::format("iptables-save line {}: chain or rule outside a table", line_no));
      }
    }
    if (line.front() == ':') {
      ++rs.chains;
      std::string_view rest = line.substr(1);
      size_t sp = rest.find(' ');
      std::string_view name = rest.substr(0, sp);
      std::string_view policy =
          sp == std::string_view::npos ? std::string_view() : TrimSpace(rest.substr(sp + 1));
      policy = policy.substr(0, policy.find(' '));
      if (table == "filter" && name == "INPUT") {
        InputChain ic{.family = "ipv4",
                      .table = "filter",
                      .name = "INPUT",
                      .policy = Lower(SanitizeText(policy, 32))};
        if (rs.input_chains.size() < kMaxInputChainsKept) {
          input = rs.input_chains.size();
          rs.input_chains.push_back(std::move(ic));
        }
      }
      continue;
    }
    if (line.starts_with("-A ") || line.starts_with("-I ")) {
      ++rs.rules;
      std::string_view rest = TrimSpace(line.substr(3));
      std::string_view chain = rest.substr(0, rest.find(' '));
      if (table == "filter" && chain == "INPUT" && input != kNone) {
        ++rs.input_chains[input].rules;
      }
    }
  }
  return rs;
}

bool ParseUfwConfEnabled(std::string_view text) {
  bool enabled = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = TrimSpace(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.starts_with("ENABLED=")) {
      continue;
    }
    std::string_view v = TrimSpace(line.substr(8));
    if (size_t hash = v.find('#'); hash != std::string_view::npos) {
      v = TrimSpace(v.substr(0, hash));
    }
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
      v = v.substr(1, v.size() - 2);
    }
    enabled = Lower(v) == "yes";  // the last assignment wins, as in the shell
  }
  return enabled;
}

std::optional<bool> ParseUfwStatus(std::string_view text) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = TrimSpace(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line == "Status: active") {
      return true;
    }
    if (line == "Status: inactive") {
      return false;
    }
  }
  return std::nullopt;
}

proto::CheckResult EvaluateFirewall(const FirewallRuleset& rs, const std::optional<UfwState>& ufw,
                                    bool required) {
  proto::CheckResult r;
  r.check = "firewall";
  r.target = rs.backend;
  size_t input_rules = 0;
  bool filtered = false;
  std::string policies;
  for (const auto& ic : rs.input_chains) {
    input_rules += ic.rules;
    if (ic.policy == "drop" || ic.policy == "reject" || ic.rules > 0) {
      filtered = true;
    }
    if (!policies.empty()) {
      policies += ", ";
    }
    policies +=
        fmt::format("{} {} {}: {} ({} rules)", ic.family, ic.table, ic.name, ic.policy, ic.rules);
  }
  r.metrics.push_back({.name = "firewall.rules", .value = static_cast<double>(rs.rules), .min = 0});
  r.metrics.push_back(
      {.name = "firewall.input_rules", .value = static_cast<double>(input_rules), .min = 0});
  r.metrics.push_back(
      {.name = "firewall.tables", .value = static_cast<double>(rs.tables), .min = 0});
  if (!policies.empty()) {
    r.details["input_policy"] = policies;
  }
  proto::CheckStatus open_status =
      required ? proto::CheckStatus::kCritical : proto::CheckStatus::kWarning;
  if (filtered) {
    r.status = proto::CheckStatus::kOk;
    bool drop = false;
    for (const auto& ic : rs.input_chains) {
      drop = drop || ic.policy == "drop" || ic.policy == "reject";
    }
    r.message = fmt::format("{}: inbound filtered ({} input rules{}, {} rules in total)",
                            rs.backend, input_rules, drop ? ", policy drop" : "", rs.rules);
  } else if (rs.rules == 0 && rs.input_chains.empty()) {
    r.status = open_status;
    r.message = fmt::format("{}: empty ruleset, inbound traffic is not filtered", rs.backend);
  } else if (rs.input_chains.empty()) {
    r.status = open_status;
    r.message = fmt::format(
        "{}: no input chain ({} rules elsewhere), inbound traffic is not "
        "filtered",
        rs.backend, rs.rules);
  } else {
    r.status = open_status;
    r.message = fmt::format("{}: input accepts everything (policy accept, no rules)", rs.backend);
  }
  if (ufw) {
    std::string state = ufw->active ? (*ufw->active ? "active" : "inactive") : "unknown";
    r.details["ufw"] =
        fmt::format("{}, {} in ufw.conf", state, ufw->enabled_in_config ? "enabled" : "disabled");
    if (ufw->enabled_in_config && ufw->active && !*ufw->active) {
      r.status = proto::Worst(r.status, proto::CheckStatus::kWarning);
      r.message += "; ufw is enabled but inactive";
    }
  }
  return r;
}

}  // namespace vigil::checks
