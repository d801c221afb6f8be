#pragma once

// Scheduler: runs the enabled checks of `vigil-agent run` on their intervals and hands their
// results, as observations, to a sink (the BatchSender).
//
// Each check runs every `interval` plus a jitter of uniform 0..10 % of it (NextRunDelay), counted
// from the end of its previous run; first runs are spread over `first_run_spread`. Runs happen on
// a bounded pool of worker threads, at most one run per check at a time, each through `run`
// (CollectWithTimeout in production). Results are collected and emitted every `batch_interval`,
// or at once when a (check, target) changed status against its previous result (StatusTracker).
// The first batch goes out `first_batch_after` the start (when that is shorter than the batch
// interval), so a device shows its checks seconds after the agent starts, not a minute later.
//
// Thread safety: SetPlan, RequestStop and the accessors may be called from any thread; Run and
// RunOnce from one thread at a time. Collectors, tools and paths must outlive the scheduler.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/collect/collector.h"
#include "agent/transport/policy.h"
#include "core/clock.h"
#include "proto/agent_config.h"
#include "proto/batch.h"

namespace vigil::agent::transport {

struct ScheduledCheck {
  Collector* collector = nullptr;
  std::chrono::milliseconds interval{60'000};
  std::chrono::milliseconds timeout{30'000};
};

// What the scheduler runs: its checks, the configuration their collectors read and how often
// results are batched.
struct SchedulePlan {
  std::vector<ScheduledCheck> checks;
  std::shared_ptr<const proto::AgentConfig> config;
  std::chrono::milliseconds batch_interval{60'000};
};

using RunCollector =
    std::function<std::vector<proto::CheckResult>(Collector&, const CollectContext&)>;

struct SchedulerOptions {
  const Clock* clock = nullptr;       // observed_at; required
  const ToolRunner* tools = nullptr;  // required
  SystemPaths paths;
  RunCollector run;  // required (CollectWithTimeout in production)
  // Receives every batch of observations, on the thread of Run/RunOnce.
  std::function<void(std::vector<proto::Observation>)> emit;
  // Called on a worker thread after each run of a check (the inventory hook). May be empty.
  std::function<void(std::string_view check)> after_check;
  std::chrono::milliseconds first_run_spread{5'000};
  // Time for the first runs (spread, plus a slow tool or two) before the first batch.
  std::chrono::milliseconds first_batch_after{15'000};
  size_t workers = 4;
  RandomSource random;  // default SystemRandom()
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Replaces the checks (a check keeps its next due time when it stays with the same interval;
  // a new or changed one is due after FirstRunDelay). Runs in flight finish and are reported.
  void SetPlan(SchedulePlan plan);

  // Runs until RequestStop(); emits what was collected before returning.
  void Run();
  // Runs every check of the plan once, waits for all, emits the results; returns early (without
  // waiting for runs in flight) on RequestStop().
  void RunOnce();
  void RequestStop();

 private:
  struct CheckState {
    ScheduledCheck check;
    std::chrono::steady_clock::time_point next_due;
    bool in_flight = false;
  };
  struct Job {
    Collector* collector;
    std::chrono::milliseconds timeout;
    std::shared_ptr<const proto::AgentConfig> config;
  };
  struct Done {
    std::string name;
    std::vector<proto::Observation> observations;
  };

  void Worker();
  void DispatchLocked(CheckState& state);
  // Moves finished runs into pending_; true when a status changed.
  bool CollectDoneLocked(std::chrono::steady_clock::time_point now);
  void Emit(std::unique_lock<std::mutex>& lock);

  SchedulerOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                                 // guarded by mu_
  bool workers_stop_ = false;                         // guarded by mu_
  std::map<std::string, CheckState> checks_;          // by check name; guarded by mu_
  std::shared_ptr<const proto::AgentConfig> config_;  // guarded by mu_
  std::chrono::milliseconds batch_interval_{60'000};  // guarded by mu_
  std::deque<Job> jobs_;                              // guarded by mu_
  std::vector<Done> done_;                            // guarded by mu_
  std::vector<proto::Observation> pending_;           // guarded by mu_
  StatusTracker tracker_;                             // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace vigil::agent::transport
