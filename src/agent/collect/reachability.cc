// The `reachability` collector: one result per configured target (reachability_targets):
//   ping: `ping -c 3 -W 1 -i 0.2 ADDRESS` through the ToolRunner, parsed by
//   checks::ParsePingOutput; tcp:  a non-blocking connect to ADDRESS:PORT; http: GET ADDRESS (a
//   URL) with net::HttpClient; TLS is not verified: this check is
//         about reachability, `certificates` is about certificates.
// Every probe is bounded by what is left of ctx.timeout (and at most 10 s each).

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "agent/checks/reachability.h"
#include "agent/collect/linux_collectors.h"
#include "core/strings.h"
#include "net/http_client.h"

namespace vigil::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kMaxProbeTime = std::chrono::seconds(10);

proto::CheckResult Unknown(std::string target, std::string message) {
  proto::CheckResult r;
  r.check = "reachability";
  r.target = std::move(target);
  r.status = proto::CheckStatus::kUnknown;
  r.message = std::move(message);
  return r;
}

int MillisLeft(SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 600'000));
}

std::string FirstLine(std::string_view text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) {
    return "";
  }
  text.remove_prefix(start);
  return SanitizeText(text.substr(0, text.find('\n')), 200);
}

// Connects to host:port and closes again; the outcome says how long it took or why it failed.
checks::ProbeOutcome TcpProbe(const std::string& host, int port, SteadyClock::time_point deadline) {
  checks::ProbeOutcome o;
  auto start = SteadyClock::now();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port_text = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res);
  if (rc != 0) {
    o.error = fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc));
    return o;
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);
  o.error = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      o.error = std::strerror(errno);
      continue;
    }
    int err = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, MillisLeft(deadline)) <= 0) {
          err = ETIMEDOUT;
        } else {
          socklen_t len = sizeof(err);
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        }
      }
    }
    ::close(fd);
    if (err == 0) {
      o.connected = true;
      o.error.clear();
      break;
    }
    o.error = err == ETIMEDOUT ? "timed out" : std::strerror(err);
    if (MillisLeft(deadline) == 0) {
      break;
    }
  }
  o.elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
  return o;
}

checks::ProbeOutcome HttpProbe(const std::string& url, SteadyClock::time_point deadline) {
  checks::ProbeOutcome o;
  auto start = SteadyClock::now();
  net::HttpClient client({.timeout = std::max(milliseconds(1), milliseconds(MillisLeft(deadline))),
                          .verify_tls = false,
                          .max_response_bytes = size_t{8} << 20});
  auto resp = client.Send("GET", url, {{"user-agent", "vigil-agent reachability"}});
  o.elapsed = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
  if (!resp) {
    if (resp.error().code() == ErrorCode::kResourceExhausted) {
      // A response larger than we care to read still proves the server answers; the status is
      // not known then, so it counts as 200.
      o.connected = true;
      o.http_status = 200;
      return o;
    }
    o.error = resp.error().message();
    return o;
  }
  o.connected = true;
  o.http_status = resp->status;
  return o;
}

class ReachabilityCollector final : public Collector {
 public:
  std::string_view name() const override { return "reachability"; }

  std::vector<proto::CheckResult> Collect(const CollectContext& ctx) override {
    std::vector<proto::CheckResult> results;
    auto deadline = SteadyClock::now() + ctx.timeout;
    for (const auto& t : ctx.config.reachability_targets) {
      std::string name = SanitizeText(t.name, 128);
      auto own = std::min(deadline, SteadyClock::now() + kMaxProbeTime);
      if (t.kind == "ping") {
        results.push_back(Ping(ctx, t, name, own));
      } else if (t.kind == "tcp") {
        if (!checks::IsValidHostAddress(t.address) || t.port < 1 || t.port > 65535) {
          results.push_back(Unknown(name, "invalid address or port"));
          continue;
        }
        results.push_back(checks::EvaluateProbe("tcp", TcpProbe(t.address, t.port, own), name,
                                                fmt::format("{}:{}", t.address, t.port)));
      } else if (t.kind == "http") {
        if (!t.address.starts_with("http://") && !t.address.starts_with("https://")) {
          results.push_back(Unknown(name, "not an http:// or https:// URL"));
          continue;
        }
        results.push_back(
            checks::EvaluateProbe("http", HttpProbe(t.address, own), name, t.address));
      } else {
        results.push_back(Unknown(name, "unknown kind " + SanitizeText(t.kind, 32)));
      }
    }
    return results;
  }

 private:
  static proto::CheckResult Ping(const CollectContext& ctx, const proto::ReachabilityTarget& t,
                                 const std::string& name, SteadyClock::time_point deadline) {
    if (!checks::IsValidHostAddress(t.address)) {
      return Unknown(name, "invalid address");
    }
    ToolRequest req;
    req.argv = {"ping", "-c", "3", "-W", "1", "-i", "0.2", t.address};
    req.timeout = std::max(milliseconds(100), milliseconds(MillisLeft(deadline)));
    req.max_output_bytes = checks::kMaxPingOutputBytes;
    auto out = ctx.tools.Run(req);
    if (!out) {
      if (out.error().code() == ErrorCode::kNotFound) {
        return Unknown(name, "ping not found");
      }
      return Unknown(name, "cannot run ping: " + SanitizeText(out.error().message(), 200));
    }
    if (out->timed_out) {
      proto::CheckResult r =
          checks::EvaluateProbe("ping", {.error = "ping timed out"}, name, t.address);
      return r;
    }
    auto stats = checks::ParsePingOutput(out->out);
    if (!stats) {
      // Exit code 2: ping could not even send (unknown host, no route): the target is not
      // reachable. Anything else without a summary is a failure of the probe itself.
      std::string why = FirstLine(out->err.empty() ? out->out : out->err);
      if (out->exit_code == 2) {
        return checks::EvaluateProbe("ping", {.error = why}, name, t.address);
      }
      return Unknown(name, fmt::format("ping failed (exit code {}){}{}", out->exit_code,
                                       why.empty() ? "" : ": ", why));
    }
    return checks::EvaluatePing(*stats, name, t.address);
  }
};

}  // namespace

std::unique_ptr<Collector> MakeReachabilityCollector() {
  return std::make_unique<ReachabilityCollector>();
}

}  // namespace vigil::agent
