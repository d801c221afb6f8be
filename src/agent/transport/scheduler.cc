#include "agent/transport/scheduler.h"

#include <algorithm>
#include <utility>

#include "core/check.h"
#include "core/log.h"

namespace vigil::agent::transport {

using SteadyClock = std::chrono::steady_clock;

Scheduler::Scheduler(SchedulerOptions options) : options_(std::move(options)) {
  VIGIL_CHECK(options_.clock != nullptr && options_.tools != nullptr && options_.run);
  if (!options_.random) {
    options_.random = SystemRandom();
  }
  size_t n = std::max<size_t>(options_.workers, 1);
  for (size_t i = 0; i < n; ++i) {
    workers_.emplace_back([this] { Worker(); });
  }
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    workers_stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) {
    t.join();
  }
}

void Scheduler::SetPlan(SchedulePlan plan) {
  std::lock_guard lock(mu_);
  auto now = SteadyClock::now();
  std::map<std::string, CheckState> next;
  for (const auto& c : plan.checks) {
    std::string name(c.collector->name());
    CheckState state{c, now + FirstRunDelay(options_.first_run_spread, options_.random()), false};
    auto old = checks_.find(name);
    if (old != checks_.end()) {
      state.in_flight = old->second.in_flight;
      if (old->second.check.interval == c.interval) {
        state.next_due = old->second.next_due;
      }
    }
    next.emplace(std::move(name), state);
  }
  checks_ = std::move(next);
  config_ = std::move(plan.config);
  batch_interval_ = std::max(plan.batch_interval, std::chrono::milliseconds(1));
  cv_.notify_all();
}

void Scheduler::RequestStop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

void Scheduler::DispatchLocked(CheckState& state) {
  state.in_flight = true;
  jobs_.push_back(Job{state.check.collector, state.check.timeout, config_});
  cv_.notify_all();
}

bool Scheduler::CollectDoneLocked(SteadyClock::time_point now) {
  bool changed = false;
  for (auto& done : done_) {
    std::vector<proto::CheckResult> results;
    results.reserve(done.observations.size());
    for (const auto& o : done.observations) {
      results.push_back(o.result);
    }
    changed = tracker_.Update(results) || changed;
    for (auto& o : done.observations) {
      pending_.push_back(std::move(o));
    }
    auto it = checks_.find(done.name);
    if (it != checks_.end()) {
      it->second.in_flight = false;
      it->second.next_due = now + NextRunDelay(it->second.check.interval, options_.random());
    }
  }
  done_.clear();
  return changed;
}

void Scheduler::Emit(std::unique_lock<std::mutex>& lock) {
  if (pending_.empty() || !options_.emit) {
    pending_.clear();
    return;
  }
  std::vector<proto::Observation> batch = std::move(pending_);
  pending_.clear();
  lock.unlock();
  options_.emit(std::move(batch));
  lock.lock();
}

void Scheduler::Run() {
  std::unique_lock lock(mu_);
  auto next_batch = SteadyClock::now() + std::min(batch_interval_, options_.first_batch_after);
  while (!stop_) {
    auto now = SteadyClock::now();
    bool changed = CollectDoneLocked(now);
    for (auto& [name, state] : checks_) {
      if (!state.in_flight && now >= state.next_due) {
        DispatchLocked(state);
      }
    }
    if (changed || now >= next_batch) {
      if (changed) {
        VIGIL_LOG(debug, "a check changed status: sending its results now");
      }
      Emit(lock);
      now = SteadyClock::now();
      next_batch = now + batch_interval_;
      continue;  // stop_ or plans may have changed while unlocked
    }
    next_batch = std::min(next_batch, now + batch_interval_);  // a shorter new interval
    auto wake = next_batch;
    for (const auto& [name, state] : checks_) {
      if (!state.in_flight) {
        wake = std::min(wake, state.next_due);
      }
    }
    size_t plan_size = checks_.size();
    auto plan_config = config_;
    cv_.wait_until(lock, wake, [&] {
      return stop_ || !done_.empty() || checks_.size() != plan_size || config_ != plan_config;
    });
  }
  CollectDoneLocked(SteadyClock::now());
  Emit(lock);
}

void Scheduler::RunOnce() {
  std::unique_lock lock(mu_);
  for (auto& [name, state] : checks_) {
    if (!state.in_flight) {
      DispatchLocked(state);
    }
  }
  while (!stop_) {
    CollectDoneLocked(SteadyClock::now());
    bool busy = std::any_of(checks_.begin(), checks_.end(),
                            [](const auto& kv) { return kv.second.in_flight; });
    if (!busy) {
      break;
    }
    cv_.wait(lock, [&] { return stop_ || !done_.empty(); });
  }
  CollectDoneLocked(SteadyClock::now());
  Emit(lock);
}

void Scheduler::Worker() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return workers_stop_ || !jobs_.empty(); });
      if (workers_stop_) {
        return;
      }
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    proto::AgentConfig fallback;
    const proto::AgentConfig& config = job.config ? *job.config : fallback;
    TimePoint observed_at = options_.clock->Now();
    CollectContext ctx{observed_at, job.timeout, config, *options_.tools, options_.paths};
    std::vector<proto::CheckResult> results = options_.run(*job.collector, ctx);
    std::string name(job.collector->name());
    Done done{name, {}};
    done.observations.reserve(results.size());
    for (auto& r : results) {
      done.observations.push_back(proto::Observation{observed_at, std::move(r)});
    }
    if (options_.after_check) {
      options_.after_check(name);
    }
    {
      std::lock_guard lock(mu_);
      done_.push_back(std::move(done));
    }
    cv_.notify_all();
  }
}

}  // namespace vigil::agent::transport
