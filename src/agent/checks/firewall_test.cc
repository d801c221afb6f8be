#include "agent/checks/firewall.h"
#include "agent/checks/test_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/json.h"

namespace vigil::checks {
namespace {

using namespace vigil::checks::testing;  // NOLINT: test helpers

using proto::CheckStatus;

TEST(ParseNftJsonTest, RecordedEmptyRuleset) {
  auto rs = ParseNftJson(ReadSystemTestdata("nft_empty.json"));
  ASSERT_TRUE(rs.has_value()) << rs.error().ToString();
  EXPECT_EQ(rs->backend, "nftables");
  EXPECT_EQ(rs->tables, 0u);
  EXPECT_EQ(rs->rules, 0u);
  EXPECT_TRUE(rs->input_chains.empty());
  auto r = EvaluateFirewall(*rs, std::nullopt, /*required=*/true);
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.target, "nftables");
  EXPECT_EQ(r.message, "nftables: empty ruleset, inbound traffic is not filtered");
  EXPECT_EQ(EvaluateFirewall(*rs, std::nullopt, /*required=*/false).status, CheckStatus::kWarning);
}

TEST(ParseNftJsonTest, RecordedServerRulesetWithDropPolicy) {
  auto rs = ParseNftJson(ReadSystemTestdata("nft_server_drop.json"));
  ASSERT_TRUE(rs.has_value()) << rs.error().ToString();
  EXPECT_EQ(rs->tables, 1u);
  EXPECT_EQ(rs->chains, 4u);
  EXPECT_EQ(rs->rules, 8u);  // 7 in input, 1 in logging
  ASSERT_EQ(rs->input_chains.size(), 1u);
  EXPECT_EQ(
      rs->input_chains[0],
      (InputChain{
          .family = "inet", .table = "vigil_h3", .name = "input", .policy = "drop", .rules = 7}));
  auto r = EvaluateFirewall(*rs, std::nullopt, true);
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.message, "nftables: inbound filtered (7 input rules, policy drop, 8 rules in total)");
  EXPECT_EQ(FindMetric(r, "firewall.input_rules")->value, 7);
  EXPECT_EQ(FindMetric(r, "firewall.rules")->value, 8);
  EXPECT_EQ(r.details["input_policy"], "inet vigil_h3 input: drop (7 rules)");
}

TEST(ParseNftJsonTest, RecordedAcceptAllInput) {
  auto rs = ParseNftJson(ReadSystemTestdata("nft_accept_all.json"));
  ASSERT_TRUE(rs.has_value()) << rs.error().ToString();
  EXPECT_EQ(rs->tables, 2u);
  EXPECT_EQ(rs->rules, 1u);  // the masquerade rule
  ASSERT_EQ(rs->input_chains.size(), 1u);
  EXPECT_EQ(rs->input_chains[0].policy, "accept");
  EXPECT_EQ(rs->input_chains[0].rules, 0u);
  auto r = EvaluateFirewall(*rs, std::nullopt, true);
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message, "nftables: input accepts everything (policy accept, no rules)");
}

TEST(ParseNftJsonTest, AcceptPolicyWithRulesIsFiltered) {
  // ufw on nftables and firewalld both keep policy accept and end the chain with a reject rule.
  auto rs = ParseNftJson(R"({"nftables":[{"table":{"family":"ip","name":"filter"}},
    {"chain":{"family":"ip","table":"filter","name":"INPUT","type":"filter","hook":"input",
              "prio":0,"policy":"accept"}},
    {"rule":{"family":"ip","table":"filter","chain":"INPUT","expr":[{"reject":null}]}}]})");
  ASSERT_TRUE(rs.has_value()) << rs.error().ToString();
  EXPECT_EQ(EvaluateFirewall(*rs, std::nullopt, true).status, CheckStatus::kOk);
  // A base chain without "policy" accepts.
  rs = ParseNftJson(R"({"nftables":[{"chain":{"family":"ip","table":"t","name":"in",
    "hook":"input"}}]})");
  ASSERT_TRUE(rs.has_value());
  ASSERT_EQ(rs->input_chains.size(), 1u);
  EXPECT_EQ(rs->input_chains[0].policy, "accept");
  // Rules only outside the input hook.
  rs = ParseNftJson(R"({"nftables":[{"rule":{"family":"ip","table":"nat","chain":"post"}}]})");
  ASSERT_TRUE(rs.has_value());
  auto r = EvaluateFirewall(*rs, std::nullopt, false);
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message,
            "nftables: no input chain (1 rules elsewhere), inbound traffic is not filtered");
}

TEST(ParseNftJsonTest, RefusesMalformedJson) {
  for (std::string_view bad :
       {"", "[]", "{}", R"({"nftables":{}})", R"({"nftables":[1]})", "{\"nftables\":[",
        R"({"nftables":[{"chain":{"family":"ip","table":"t","name":1,"hook":"input"}}]})",
        R"({"nftables":[{"rule":{"family":"ip","table":"t"}}]})", R"({"nftables":[{"rule":[]}]})",
        R"({"nftables":[{"chain":"x"}]})", "{\"nftables\":[{\"table\":{\"name\":\"\xff\"}}]}"}) {
    auto rs = ParseNftJson(bad);
    ASSERT_FALSE(rs.has_value()) << bad;
    EXPECT_EQ(rs.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  std::string deep = R"({"nftables":[{"rule":{"family":"ip","table":"t","chain":"c","expr":)" +
                     std::string(10'000, '[') + std::string(10'000, ']') + "}}]}";
  auto rs = ParseNftJson(deep);
  ASSERT_FALSE(rs.has_value());
  EXPECT_EQ(rs.error().code(), ErrorCode::kInvalidArgument);
  rs = ParseNftJson(std::string(kMaxFirewallOutputBytes + 1, ' '));
  ASSERT_FALSE(rs.has_value());
  EXPECT_EQ(rs.error().code(), ErrorCode::kPayloadTooLarge);
}

TEST(ParseNftJsonTest, HostileNamesAreSanitisedAndChainsBounded) {
  std::string many = R"({"nftables":[)";
  for (int i = 0; i < 100; ++i) {
    many += R"({"chain":{"family":"ip","table":"t","name":"c)" + std::to_string(i) +
            R"(\u001b[2J","hook":"input","policy":"DROP"}},)";
  }
  many += R"({"table":{"family":"ip","name":"t"}}]})";
  auto rs = ParseNftJson(many);
  ASSERT_TRUE(rs.has_value()) << rs.error().ToString();
  EXPECT_EQ(rs->chains, 100u);
  EXPECT_EQ(rs->input_chains.size(), kMaxInputChainsKept);
  EXPECT_EQ(rs->input_chains[0].policy, "drop");
  EXPECT_EQ(rs->input_chains[0].name.find('\x1b'), std::string::npos);
  auto r = EvaluateFirewall(*rs, std::nullopt, true);
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_TRUE(json::IsValidUtf8(r.details["input_policy"]));
}

TEST(ParseIptablesSaveTest, ServerWithDropPolicy) {
  auto rs = ParseIptablesSave(ReadSystemTestdata("iptables_save_server.txt"));
  ASSERT_TRUE(rs.has_value()) << rs.error().ToString();
  EXPECT_EQ(rs->backend, "iptables");
  EXPECT_EQ(rs->tables, 1u);
  EXPECT_EQ(rs->chains, 4u);
  EXPECT_EQ(rs->rules, 7u);
  ASSERT_EQ(rs->input_chains.size(), 1u);
  EXPECT_EQ(
      rs->input_chains[0],
      (InputChain{
          .family = "ipv4", .table = "filter", .name = "INPUT", .policy = "drop", .rules = 6}));
  EXPECT_EQ(EvaluateFirewall(*rs, std::nullopt, true).status, CheckStatus::kOk);
}

TEST(ParseIptablesSaveTest, DockerHostWithoutInputFilteringIsOpen) {
  auto rs = ParseIptablesSave(ReadSystemTestdata("iptables_save_docker_open.txt"));
  ASSERT_TRUE(rs.has_value()) << rs.error().ToString();
  EXPECT_EQ(rs->tables, 2u);
  EXPECT_EQ(rs->rules, 10u);
  ASSERT_EQ(rs->input_chains.size(), 1u);  // nat's INPUT is not a filter chain
  EXPECT_EQ(rs->input_chains[0].policy, "accept");
  EXPECT_EQ(rs->input_chains[0].rules, 0u);
  auto r = EvaluateFirewall(*rs, std::nullopt, true);
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message, "iptables: input accepts everything (policy accept, no rules)");
}

TEST(ParseIptablesSaveTest, EmptyAndMalformed) {
  auto rs = ParseIptablesSave(ReadSystemTestdata("iptables_save_empty.txt"));
  ASSERT_TRUE(rs.has_value());
  EXPECT_EQ(rs->rules, 0u);
  EXPECT_EQ(EvaluateFirewall(*rs, std::nullopt, false).status, CheckStatus::kWarning);
  for (std::string_view bad :
       {":INPUT DROP [0:0]\n", "-A INPUT -j ACCEPT\n", "*filter\nCOMMIT\n-A INPUT -j DROP\n"}) {
    auto r = ParseIptablesSave(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  }
  rs = ParseIptablesSave("*filter\n:INPUT\n:\n-A \n-A\nCOMMIT\n");
  ASSERT_TRUE(rs.has_value());
  EXPECT_EQ(rs->input_chains.at(0).policy, "");
  EXPECT_EQ(ParseIptablesSave(std::string(kMaxFirewallOutputBytes + 1, '#')).error().code(),
            ErrorCode::kPayloadTooLarge);
}

TEST(UfwTest, ConfAndStatus) {
  EXPECT_TRUE(ParseUfwConfEnabled(ReadSystemTestdata("ufw_conf_enabled.txt")));
  EXPECT_FALSE(ParseUfwConfEnabled("ENABLED=no\n"));
  EXPECT_TRUE(ParseUfwConfEnabled("ENABLED=\"yes\" # on\n"));
  EXPECT_FALSE(ParseUfwConfEnabled("ENABLED=yes\nENABLED=no\n"));
  EXPECT_FALSE(ParseUfwConfEnabled("#ENABLED=yes\n"));
  EXPECT_FALSE(ParseUfwConfEnabled(""));
  EXPECT_EQ(ParseUfwStatus(ReadSystemTestdata("ufw_status_active.txt")), true);
  EXPECT_EQ(ParseUfwStatus(ReadSystemTestdata("ufw_status_inactive.txt")), false);
  EXPECT_EQ(ParseUfwStatus("ERROR: You need to be root to run this script\n"), std::nullopt);
}

TEST(UfwTest, EnabledButInactiveWarns) {
  auto rs = ParseIptablesSave(ReadSystemTestdata("iptables_save_server.txt")).value();
  auto r = EvaluateFirewall(rs, UfwState{.enabled_in_config = true, .active = false}, true);
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_NE(r.message.find("ufw is enabled but inactive"), std::string::npos);
  EXPECT_EQ(r.details["ufw"], "inactive, enabled in ufw.conf");
  r = EvaluateFirewall(rs, UfwState{.enabled_in_config = true, .active = true}, true);
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.details["ufw"], "active, enabled in ufw.conf");
}

}  // namespace
}  // namespace vigil::checks
