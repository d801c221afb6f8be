#pragma once

// Parsing and evaluation for the agent's `reachability` check: ping, TCP connect and HTTP probes
// of configured targets (reachability_targets), one result per target (target = its name).
//
// The collector (collect/reachability.cc) runs `ping -c 3 -W 1 -i 0.2 ADDRESS` through the
// ToolRunner, connects sockets and sends HTTP requests; this file turns what it saw into results.
// ping's output is untrusted (bounded, never throws or aborts).
//
// Thread safety: free functions without shared state; call from any thread.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "proto/check.h"

namespace vigil::checks {

inline constexpr size_t kMaxPingOutputBytes = 1u << 20;

struct PingStats {
  int64_t transmitted = 0;
  int64_t received = 0;
  int64_t errors = 0;
  double loss_percent = 100;
  std::optional<double> rtt_min_ms;
  std::optional<double> rtt_avg_ms;
  std::optional<double> rtt_max_ms;
};

// Parses the summary of iputils ping (and busybox ping):
//   "3 packets transmitted, 3 received, 0% packet loss, time 408ms"
//   "3 packets transmitted, 1 received, +2 errors, 66.6667% packet loss, time 2031ms"
//   "rtt min/avg/max/mdev = 0.026/0.034/0.040/0.006 ms"    (busybox: "round-trip min/avg/max")
// Errors: kPayloadTooLarge past kMaxPingOutputBytes; kInvalidArgument without a
// "packets transmitted" line, or with counts that contradict each other (received >
// transmitted, negative, loss outside 0..100).
Result<PingStats> ParsePingOutput(std::string_view text);

// True for an address that may be passed to ping or connect: 1..253 bytes of letters, digits,
// '.', ':', '-', '_', '%', not starting with '-'.
bool IsValidHostAddress(std::string_view address);

// Ping result: critical at 100 % loss, warning at any loss, else ok. Metrics:
// reachability.loss_percent (%, warn 1, crit 100), reachability.rtt_ms (ms, the average; absent
// without replies). Details: kind, address, transmitted, received, errors.
proto::CheckResult EvaluatePing(const PingStats& stats, std::string name, std::string_view address);

// What a TCP or HTTP probe saw.
struct ProbeOutcome {
  bool connected = false;  // TCP connected / HTTP response received
  std::chrono::milliseconds elapsed{0};
  int http_status = 0;  // HTTP only; 0 for TCP
  std::string error;    // why it failed ("connection refused", "timed out")
};

// TCP: ok when connected, else critical. HTTP: ok for a status below 500, critical for 5xx or no
// response. Metric reachability.response_ms (ms). Details: kind, address, http_status, error.
proto::CheckResult EvaluateProbe(std::string_view kind, const ProbeOutcome& outcome,
                                 std::string name, std::string_view address);

}  // namespace vigil::checks
