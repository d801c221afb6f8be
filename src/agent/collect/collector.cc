#include "agent/collect/collector.h"

#include <fmt/format.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "agent/collect/linux_collectors.h"

namespace vigil::agent {

std::string SystemPaths::Path(std::string_view absolute) const {
  while (!absolute.empty() && absolute.front() == '/') {
    absolute.remove_prefix(1);
  }
  if (root.empty()) {
    return "/" + std::string(absolute);
  }
  std::string out = root;
  if (out.back() != '/') {
    out.push_back('/');
  }
  out.append(absolute);
  return out;
}

std::vector<std::unique_ptr<Collector>> MakePlatformCollectors() {
  std::vector<std::unique_ptr<Collector>> out;
  out.push_back(MakeInventoryCollector());
  out.push_back(MakeCpuCollector());
  out.push_back(MakeMemoryCollector());
  out.push_back(MakeSwapCollector());
  out.push_back(MakeDiskCollector());
  out.push_back(MakeSmartCollector());
  out.push_back(MakeUpdatesCollector());
  out.push_back(MakeAntivirusCollector());
  out.push_back(MakeBackupCollector());
  out.push_back(MakeFirewallCollector());
  out.push_back(MakeServicesCollector());
  out.push_back(MakeCertificatesCollector());
  out.push_back(MakeReachabilityCollector());
  out.push_back(MakePluginCollector());
  return out;
}

namespace {

// What the collecting thread and the waiting caller share. Owned jointly (shared_ptr), so a
// thread that outlives its caller still has valid copies of the configuration and paths.
struct CollectState {
  explicit CollectState(const CollectContext& ctx) : config(ctx.config), paths(ctx.paths) {}
  proto::AgentConfig config;
  SystemPaths paths;
  std::mutex mu;
  std::condition_variable done_cv;
  std::optional<std::vector<proto::CheckResult>> results;  // guarded by mu
};

// Collectors with a Collect call in progress. A call abandoned at its timeout stays here until
// it returns, so that the same collector is never run twice at once (collector.h).
std::mutex busy_mu;
std::set<const Collector*>& Busy() {
  static auto* busy = new std::set<const Collector*>();
  return *busy;
}

proto::CheckResult Unknown(const Collector& c, std::string message) {
  proto::CheckResult r;
  r.check = std::string(c.name());
  r.status = proto::CheckStatus::kUnknown;
  r.message = std::move(message);
  return r;
}

}  // namespace

// Lifetime: on timeout the thread is detached and keeps running with references to `c` and
// `ctx.tools`. Both must therefore outlive any stuck call; the agent creates its collectors and
// its ToolRunner once (MakePlatformCollectors, MakeProcessRunner) and keeps them for the whole
// process, which satisfies this. The configuration and the paths are copied.
std::vector<proto::CheckResult> CollectWithTimeout(Collector& c, const CollectContext& ctx) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(ctx.timeout).count();
  {
    std::lock_guard<std::mutex> lock(busy_mu);
    if (!Busy().insert(&c).second) {
      return {Unknown(c, fmt::format("check did not finish within {}s (the previous run is "
                                     "still running)",
                                     seconds > 0 ? seconds : 1))};
    }
  }
  auto state = std::make_shared<CollectState>(ctx);
  const ToolRunner& tools = ctx.tools;
  const TimePoint now = ctx.now;
  const std::chrono::milliseconds timeout = ctx.timeout;
  std::thread worker([state, &c, &tools, now, timeout] {
    CollectContext own{now, timeout, state->config, tools, state->paths};
    std::vector<proto::CheckResult> results = c.Collect(own);
    {
      std::lock_guard<std::mutex> busy_lock(busy_mu);
      Busy().erase(&c);
    }
    std::lock_guard<std::mutex> lock(state->mu);
    state->results = std::move(results);
    state->done_cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(state->mu);
  bool finished = state->done_cv.wait_for(lock, timeout + std::chrono::seconds(1),
                                          [&] { return state->results.has_value(); });
  if (finished) {
    std::vector<proto::CheckResult> results = std::move(*state->results);
    lock.unlock();
    worker.join();
    return results;
  }
  lock.unlock();
  worker.detach();
  return {Unknown(c, fmt::format("check did not finish within {}s", seconds > 0 ? seconds : 1))};
}

}  // namespace vigil::agent
