#include "agent/checks/reachability.h"
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

TEST(ParsePingOutputTest, RecordedLocalhost) {
  auto st = ParsePingOutput(ReadSystemTestdata("ping_localhost_exit0.txt"));
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  EXPECT_EQ(st->transmitted, 3);
  EXPECT_EQ(st->received, 3);
  EXPECT_EQ(st->loss_percent, 0);
  ASSERT_TRUE(st->rtt_avg_ms.has_value());
  EXPECT_DOUBLE_EQ(*st->rtt_min_ms, 0.032);
  EXPECT_DOUBLE_EQ(*st->rtt_avg_ms, 0.039);
  EXPECT_DOUBLE_EQ(*st->rtt_max_ms, 0.043);
  auto r = EvaluatePing(*st, "loopback", "127.0.0.1");
  EXPECT_EQ(r.check, "reachability");
  EXPECT_EQ(r.target, "loopback");
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.message, "127.0.0.1 answers ping, rtt 0.04 ms");
  EXPECT_EQ(FindMetric(r, "reachability.loss_percent")->value, 0);
  EXPECT_EQ(FindMetric(r, "reachability.loss_percent")->crit, 100);
  EXPECT_DOUBLE_EQ(FindMetric(r, "reachability.rtt_ms")->value, 0.039);
  EXPECT_EQ(FindMetric(r, "reachability.rtt_ms")->unit, "ms");
}

TEST(ParsePingOutputTest, RecordedTestnetAddress) {
  auto st = ParsePingOutput(ReadSystemTestdata("ping_testnet_exit0.txt"));
  ASSERT_TRUE(st.has_value());
  EXPECT_DOUBLE_EQ(*st->rtt_avg_ms, 4.415);
  EXPECT_EQ(EvaluatePing(*st, "gw", "192.0.2.1").message, "192.0.2.1 answers ping, rtt 4.42 ms");
}

TEST(ParsePingOutputTest, TotalAndPartialLoss) {
  auto st = ParsePingOutput(ReadSystemTestdata("ping_loss_exit1.txt"));
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  EXPECT_EQ(st->received, 0);
  EXPECT_EQ(st->loss_percent, 100);
  EXPECT_FALSE(st->rtt_avg_ms.has_value());
  auto r = EvaluatePing(*st, "nas", "10.255.255.1");
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message, "10.255.255.1 does not answer ping (3/3 lost)");
  EXPECT_EQ(FindMetric(r, "reachability.rtt_ms"), nullptr);

  st = ParsePingOutput(ReadSystemTestdata("ping_partial_errors_exit0.txt"));
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  EXPECT_EQ(st->received, 1);
  EXPECT_EQ(st->errors, 2);
  EXPECT_NEAR(st->loss_percent, 66.6667, 1e-9);
  r = EvaluatePing(*st, "nas", "10.0.0.9");
  EXPECT_EQ(r.status, CheckStatus::kWarning);
  EXPECT_EQ(r.message, "10.0.0.9: 66.7% packet loss, rtt 1.52 ms");
  EXPECT_EQ(r.details["errors"], "2");
}

TEST(ParsePingOutputTest, BusyboxFormat) {
  auto st = ParsePingOutput(
      "PING 10.0.0.1 (10.0.0.1): 56 data bytes\n\n--- 10.0.0.1 ping statistics ---\n"
      "3 packets transmitted, 2 packets received, 33% packet loss\n"
      "round-trip min/avg/max = 0.101/0.150/0.199 ms\n");
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  EXPECT_EQ(st->received, 2);
  EXPECT_EQ(st->loss_percent, 33);
  EXPECT_DOUBLE_EQ(*st->rtt_max_ms, 0.199);
}

TEST(ParsePingOutputTest, RefusesMalformedOutput) {
  for (std::string_view bad : {
           "",
           "ping: no-such-host.invalid: Name or service not known\n",
           "x packets transmitted, 3 received, 0% packet loss\n",
           "3 packets transmitted, 4 received, 0% packet loss\n",
           "3 packets transmitted, 3 received, 300% packet loss\n",
           "3 packets transmitted, -1 received, 0% packet loss\n",
           "3 packets transmitted\n",
           "3 packets transmitted, 1 received, +x errors, 66% packet loss\n",
           "99999999999999999999 packets transmitted, 1 received\n",
       }) {
    auto st = ParsePingOutput(bad);
    ASSERT_FALSE(st.has_value()) << bad;
    EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ParsePingOutput(ReadSystemTestdata("ping_unknown_host_exit2.txt")).has_value());
  EXPECT_EQ(ParsePingOutput(std::string(kMaxPingOutputBytes + 1, '\n')).error().code(),
            ErrorCode::kPayloadTooLarge);
  // A malformed rtt line is ignored; loss is computed when missing; NaN is refused.
  auto st =
      ParsePingOutput("4 packets transmitted, 3 received\nrtt min/avg/max/mdev = a/b/c/d ms\n");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->loss_percent, 25);
  EXPECT_FALSE(st->rtt_avg_ms.has_value());
  st =
      ParsePingOutput("1 packets transmitted, 1 received\nrtt min/avg/max/mdev = nan/inf/1/1 ms\n");
  ASSERT_TRUE(st.has_value());
  EXPECT_FALSE(st->rtt_avg_ms.has_value());
}

TEST(IsValidHostAddressTest, Addresses) {
  EXPECT_TRUE(IsValidHostAddress("127.0.0.1"));
  EXPECT_TRUE(IsValidHostAddress("::1"));
  EXPECT_TRUE(IsValidHostAddress("fe80::1%eth0"));
  EXPECT_TRUE(IsValidHostAddress("nas-01.example.test"));
  EXPECT_FALSE(IsValidHostAddress(""));
  EXPECT_FALSE(IsValidHostAddress("-f"));
  EXPECT_FALSE(IsValidHostAddress("a b"));
  EXPECT_FALSE(IsValidHostAddress("a;reboot"));
  EXPECT_FALSE(IsValidHostAddress(std::string(254, 'a')));
}

TEST(EvaluateProbeTest, TcpAndHttp) {
  auto r = EvaluateProbe("tcp", {.connected = true, .elapsed = std::chrono::milliseconds(3)}, "db",
                         "127.0.0.1:5432");
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.message, "127.0.0.1:5432 accepts connections (3 ms)");
  EXPECT_EQ(FindMetric(r, "reachability.response_ms")->value, 3);
  r = EvaluateProbe("tcp", {.error = "connection refused"}, "db", "127.0.0.1:5432");
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.message, "127.0.0.1:5432 unreachable: connection refused");
  EXPECT_TRUE(r.metrics.empty());
  r = EvaluateProbe(
      "http", {.connected = true, .elapsed = std::chrono::milliseconds(40), .http_status = 404},
      "web", "http://127.0.0.1/");
  EXPECT_EQ(r.status, CheckStatus::kOk);
  EXPECT_EQ(r.message, "http://127.0.0.1/ answered HTTP 404 in 40 ms");
  EXPECT_EQ(r.details["http_status"], "404");
  r = EvaluateProbe(
      "http", {.connected = true, .elapsed = std::chrono::milliseconds(40), .http_status = 503},
      "web", "http://127.0.0.1/");
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  r = EvaluateProbe("http", {.error = "timed out\x1b[2J"}, "web", "http://127.0.0.1/");
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.details["error"].find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace vigil::checks
