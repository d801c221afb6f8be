#pragma once

// Collector: one check that the agent runs on this machine (kCheckNames), behind an interface so
// that platform code (Linux today; Windows and macOS later) stays in its own files.
//
// A collector reads the system (files under SystemPaths::root, tools through ToolRunner) and
// returns one CheckResult per target: one per file system for `disk`, per device for `smart`, per
// repository for `backup`, one for the host for `cpu`. It never throws and never blocks past
// ctx.timeout: tools are killed at the deadline (ToolRunner), and CollectWithTimeout() abandons a
// collector stuck in a system call (a hung NFS statvfs) and reports "unknown".
//
// Thread safety: Collect may be called from any thread, one call at a time per collector
// (a collector may keep state between calls, e.g. CPU counters or SMART counts for growth).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/collect/tool_runner.h"
#include "core/clock.h"
#include "proto/agent_config.h"
#include "proto/check.h"
#include "proto/inventory.h"

namespace vigil::agent {

// Where the system's files are. Tests point root at a folder of recorded files.
struct SystemPaths {
  std::string root = "/";  // "/proc/meminfo" is read as root + "proc/meminfo"
  std::string Path(std::string_view absolute) const;
};

struct CollectContext {
  TimePoint now;
  std::chrono::milliseconds timeout{30'000};
  const proto::AgentConfig& config;
  const ToolRunner& tools;
  const SystemPaths& paths;
};

class Collector {
 public:
  virtual ~Collector() = default;
  virtual std::string_view name() const = 0;  // one of proto::kCheckNames
  virtual std::vector<proto::CheckResult> Collect(const CollectContext& ctx) = 0;
};

// Every collector of this platform, one per check name, in kCheckNames order.
std::vector<std::unique_ptr<Collector>> MakePlatformCollectors();

// Runs `c.Collect(ctx)` on its own thread and waits at most ctx.timeout (plus a second of
// grace). On timeout returns one "unknown" result naming the check and the limit; the stuck
// thread is left to finish on its own and its result is discarded.
std::vector<proto::CheckResult> CollectWithTimeout(Collector& c, const CollectContext& ctx);

// The inventory of this machine (for PUT /api/v1/agent/inventory; the `inventory` check reports
// a summary of the same data).
proto::Inventory CollectInventory(const SystemPaths& paths, const ToolRunner& tools,
                                  std::chrono::milliseconds timeout);

}  // namespace vigil::agent
