#pragma once

// The pure decisions of the agent's transport and scheduler, free of I/O and threads so that
// they are tested directly: jitter of check intervals, the spread of the first runs, exponential
// backoff with full jitter, "did a status change" detection and the splitting of observations
// into batches that stay within proto::BatchLimits.
//
// Randomness is injected as a RandomSource returning a uniform value in [0, 1), so tests choose
// the extremes. Thread safety: pure functions on values; StatusTracker is used by one thread.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "proto/batch.h"
#include "proto/check.h"

namespace vigil::agent::transport {

// Returns a uniform value in [0, 1).
using RandomSource = std::function<double()>;

// A RandomSource backed by a std::mt19937_64 seeded from std::random_device. Thread safe.
RandomSource SystemRandom();

// The delay until a check's next run: its interval plus a jitter of uniform 0..10 % of it.
// `u` outside [0, 1) is clamped.
std::chrono::milliseconds NextRunDelay(std::chrono::milliseconds interval, double u);

// The delay before a check's first run: spread uniformly over [0, spread).
std::chrono::milliseconds FirstRunDelay(std::chrono::milliseconds spread, double u);

struct BackoffPolicy {
  std::chrono::milliseconds initial{1000};
  std::chrono::milliseconds max{5 * 60 * 1000};
};

// The cap of retry number `attempt` (0 = first retry): initial * 2^attempt, at most max.
std::chrono::milliseconds BackoffCap(const BackoffPolicy& policy, int attempt);
// "Full jitter": uniform in [0, cap) scaled by `u`, but never below 1 ms.
std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int attempt, double u);

// Remembers the last status per (check, target) and tells whether new results changed one.
// A (check, target) seen for the first time is not a change.
class StatusTracker {
 public:
  // Records `results`; true when any of them has a status other than the last one recorded for
  // its (check, target).
  bool Update(const std::vector<proto::CheckResult>& results);
  size_t size() const { return last_.size(); }

 private:
  std::map<std::pair<std::string, std::string>, proto::CheckStatus> last_;
};

// Splits `observations` (kept in order) into groups that each encode, with the batch envelope
// and up to limits.max_gaps gaps, within limits.max_bytes and limits.max_observations. An
// observation too large to fit even alone gets a group of its own (EncodeBatch caps its text, so
// this does not happen with sane limits). Returns no group for no observations.
std::vector<std::vector<proto::Observation>> SplitObservations(
    std::vector<proto::Observation> observations, const proto::BatchLimits& limits);

// The encoded size of one observation inside a batch (its JSON plus the separating comma).
size_t EncodedObservationSize(const proto::Observation& observation);

}  // namespace vigil::agent::transport
