#include "agent/transport/policy.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <random>

namespace vigil::agent::transport {
namespace {

double Clamp01(double u) {
  if (!(u >= 0)) {  // also NaN
    return 0;
  }
  return u >= 1 ? std::nextafter(1.0, 0.0) : u;
}

// Room for the batch envelope: version, agent_version (<= 64 characters), sequence, sent_at and
// `max_gaps` gaps of two 20-digit sequences each.
size_t EnvelopeReserve(const proto::BatchLimits& limits) { return 1024 + limits.max_gaps * 64; }

}  // namespace

RandomSource SystemRandom() {
  struct State {
    std::mutex mu;
    std::mt19937_64 engine{std::random_device{}()};
  };
  auto state = std::make_shared<State>();
  return [state]() {
    std::lock_guard lock(state->mu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(state->engine);
  };
}

std::chrono::milliseconds NextRunDelay(std::chrono::milliseconds interval, double u) {
  auto max_jitter = interval.count() / 10;
  return interval + std::chrono::milliseconds(
                        static_cast<int64_t>(Clamp01(u) * static_cast<double>(max_jitter)));
}

std::chrono::milliseconds FirstRunDelay(std::chrono::milliseconds spread, double u) {
  return std::chrono::milliseconds(
      static_cast<int64_t>(Clamp01(u) * static_cast<double>(spread.count())));
}

std::chrono::milliseconds BackoffCap(const BackoffPolicy& policy, int attempt) {
  auto cap = policy.initial;
  for (int i = 0; i < attempt && cap < policy.max; ++i) {
    cap *= 2;
  }
  return std::min(cap, policy.max);
}

std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int attempt, double u) {
  auto cap = BackoffCap(policy, attempt);
  auto ms = static_cast<int64_t>(Clamp01(u) * static_cast<double>(cap.count()));
  return std::chrono::milliseconds(std::max<int64_t>(ms, 1));
}

bool StatusTracker::Update(const std::vector<proto::CheckResult>& results) {
  bool changed = false;
  for (const auto& r : results) {
    auto [it, inserted] = last_.try_emplace({r.check, r.target}, r.status);
    if (!inserted && it->second != r.status) {
      changed = true;
      it->second = r.status;
    }
  }
  return changed;
}

size_t EncodedObservationSize(const proto::Observation& observation) {
  proto::Batch empty;
  proto::Batch one;
  one.observations.push_back(observation);
  return proto::EncodeBatch(one).size() - proto::EncodeBatch(empty).size() + 1;
}

std::vector<std::vector<proto::Observation>> SplitObservations(
    std::vector<proto::Observation> observations, const proto::BatchLimits& limits) {
  std::vector<std::vector<proto::Observation>> groups;
  size_t reserve = EnvelopeReserve(limits);
  size_t budget = limits.max_bytes > reserve ? limits.max_bytes - reserve : 0;
  size_t max_count = std::max<size_t>(limits.max_observations, 1);
  std::vector<proto::Observation> current;
  size_t current_bytes = 0;
  for (auto& o : observations) {
    size_t size = EncodedObservationSize(o);
    if (!current.empty() && (current.size() >= max_count || current_bytes + size > budget)) {
      groups.push_back(std::move(current));
      current.clear();
      current_bytes = 0;
    }
    current.push_back(std::move(o));
    current_bytes += size;
  }
  if (!current.empty()) {
    groups.push_back(std::move(current));
  }
  return groups;
}

}  // namespace vigil::agent::transport
