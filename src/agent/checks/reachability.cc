#include "agent/checks/reachability.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <utility>
#include <vector>

#include "core/strings.h"

namespace vigil::checks {
namespace {

bool ParseCount(std::string_view s, int64_t& out) {
  s = TrimSpace(s);
  if (s.empty() || s.size() > 12) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0;
}

bool ParseNumber(std::string_view s, double& out) {
  s = TrimSpace(s);
  if (s.empty() || s.size() > 32) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(out) && out >= 0;
}

// "N <suffix>" at the end of a comma-separated part: returns the number part or "".
std::string_view Before(std::string_view part, std::string_view suffix) {
  part = TrimSpace(part);
  if (!part.ends_with(suffix)) {
    return {};
  }
  return TrimSpace(part.substr(0, part.size() - suffix.size()));
}

std::vector<std::string_view> SplitComma(std::string_view s) {
  std::vector<std::string_view> parts;
  while (parts.size() < 16) {
    size_t c = s.find(',');
    parts.push_back(s.substr(0, c));
    if (c == std::string_view::npos) {
      break;
    }
    s.remove_prefix(c + 1);
  }
  return parts;
}

// "rtt min/avg/max/mdev = 0.026/0.034/0.040/0.006 ms[, pipe 2]".
void ParseRtt(std::string_view line, PingStats& st) {
  size_t eq = line.find('=');
  if (eq == std::string_view::npos) {
    return;
  }
  std::string_view values = TrimSpace(line.substr(eq + 1));
  values = values.substr(0, values.find(' '));
  double v[3] = {0, 0, 0};
  for (double& x : v) {
    size_t slash = values.find('/');
    if (!ParseNumber(values.substr(0, slash), x)) {
      return;
    }
    values.remove_prefix(slash == std::string_view::npos ? values.size() : slash + 1);
  }
  st.rtt_min_ms = v[0];
  st.rtt_avg_ms = v[1];
  st.rtt_max_ms = v[2];
}

std::string FormatMs(double ms) {
  return ms < 10 ? fmt::format("{:.2f} ms", ms) : fmt::format("{:.0f} ms", ms);
}

}  // namespace

Result<PingStats> ParsePingOutput(std::string_view text) {
  if (text.size() > kMaxPingOutputBytes) {
    return PayloadTooLarge(fmt::format("ping output longer than {} bytes", kMaxPingOutputBytes));
  }
  PingStats st;
  bool summary = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = TrimSpace(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.find("packets transmitted") != std::string_view::npos) {
      bool have_loss = false;
      bool have_received = false;
      bool have_tx = false;
      for (std::string_view part : SplitComma(line)) {
        std::string_view num;
        if (!(num = Before(part, "packets transmitted")).empty()) {
          have_tx = ParseCount(num, st.transmitted);
        } else if (!(num = Before(part, "packets received")).empty() ||
                   !(num = Before(part, "received")).empty()) {
          have_received = ParseCount(num, st.received);
        } else if (!(num = Before(part, "errors")).empty()) {
          if (num.front() == '+') {
            num.remove_prefix(1);
          }
          if (!ParseCount(num, st.errors)) {
            return InvalidArgument("ping: malformed error count");
          }
        } else if (!(num = Before(part, "% packet loss")).empty()) {
          if (num.front() == '+') {
            num.remove_prefix(1);
          }
          have_loss = ParseNumber(num, st.loss_percent);
        }
      }
      if (!have_tx || !have_received) {
        return InvalidArgument("ping: malformed \"packets transmitted\" line");
      }
      if (st.received > st.transmitted) {
        return InvalidArgument("ping: more packets received than transmitted");
      }
      if (!have_loss) {
        st.loss_percent = st.transmitted == 0
                              ? 100.0
                              : 100.0 * static_cast<double>(st.transmitted - st.received) /
                                    static_cast<double>(st.transmitted);
      }
      if (st.loss_percent > 100) {
        return InvalidArgument("ping: packet loss above 100%");
      }
      summary = true;
    } else if (line.starts_with("rtt ") || line.starts_with("round-trip ")) {
      ParseRtt(line, st);
    }
  }
  if (!summary) {
    return InvalidArgument("ping: no \"packets transmitted\" summary");
  }
  if (st.received == 0) {
    st.rtt_min_ms.reset();
    st.rtt_avg_ms.reset();
    st.rtt_max_ms.reset();
  }
  return st;
}

bool IsValidHostAddress(std::string_view address) {
  if (address.empty() || address.size() > 253 || address.front() == '-') {
    return false;
  }
  for (char c : address) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == ':' || c == '-' || c == '_' || c == '%';
    if (!ok) {
      return false;
    }
  }
  return true;
}

proto::CheckResult EvaluatePing(const PingStats& st, std::string name, std::string_view address) {
  proto::CheckResult r;
  r.check = "reachability";
  r.target = std::move(name);
  r.details["kind"] = "ping";
  r.details["address"] = SanitizeText(address, 256);
  r.details["transmitted"] = std::to_string(st.transmitted);
  r.details["received"] = std::to_string(st.received);
  if (st.errors > 0) {
    r.details["errors"] = std::to_string(st.errors);
  }
  r.metrics.push_back({.name = "reachability.loss_percent",
                       .value = st.loss_percent,
                       .unit = "%",
                       .warn = 1,
                       .crit = 100,
                       .min = 0,
                       .max = 100});
  if (st.rtt_avg_ms) {
    r.metrics.push_back({.name = "reachability.rtt_ms", .value = *st.rtt_avg_ms, .unit = "ms"});
  }
  std::string loss = fmt::format("{:g}", std::round(st.loss_percent * 10) / 10);
  if (st.received == 0 || st.loss_percent >= 100) {
    r.status = proto::CheckStatus::kCritical;
    r.message = fmt::format("{} does not answer ping ({}/{} lost)", r.details["address"],
                            st.transmitted - st.received, st.transmitted);
  } else if (st.loss_percent > 0) {
    r.status = proto::CheckStatus::kWarning;
    r.message = fmt::format("{}: {}% packet loss, rtt {}", r.details["address"], loss,
                            st.rtt_avg_ms ? FormatMs(*st.rtt_avg_ms) : "?");
  } else {
    r.status = proto::CheckStatus::kOk;
    r.message = fmt::format("{} answers ping, rtt {}", r.details["address"],
                            st.rtt_avg_ms ? FormatMs(*st.rtt_avg_ms) : "?");
  }
  return r;
}

proto::CheckResult EvaluateProbe(std::string_view kind, const ProbeOutcome& o, std::string name,
                                 std::string_view address) {
  proto::CheckResult r;
  r.check = "reachability";
  r.target = std::move(name);
  r.details["kind"] = SanitizeText(kind, 16);
  r.details["address"] = SanitizeText(address, 512);
  bool http = kind == "http";
  if (!o.connected) {
    r.status = proto::CheckStatus::kCritical;
    r.details["error"] = SanitizeText(o.error, 300);
    r.message = fmt::format("{} unreachable: {}", r.details["address"],
                            o.error.empty() ? std::string("no response") : r.details["error"]);
    return r;
  }
  r.metrics.push_back({.name = "reachability.response_ms",
                       .value = static_cast<double>(o.elapsed.count()),
                       .unit = "ms",
                       .min = 0});
  if (http) {
    r.details["http_status"] = std::to_string(o.http_status);
    if (o.http_status >= 500 || o.http_status < 100) {
      r.status = proto::CheckStatus::kCritical;
      r.message = fmt::format("{} answered HTTP {} in {} ms", r.details["address"], o.http_status,
                              o.elapsed.count());
    } else {
      r.status = proto::CheckStatus::kOk;
      r.message = fmt::format("{} answered HTTP {} in {} ms", r.details["address"], o.http_status,
                              o.elapsed.count());
    }
  } else {
    r.status = proto::CheckStatus::kOk;
    r.message =
        fmt::format("{} accepts connections ({} ms)", r.details["address"], o.elapsed.count());
  }
  return r;
}

}  // namespace vigil::checks
