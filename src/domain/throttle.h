#pragma once

// LoginThrottle: limits failed sign-ins per account and per remote address.
//
// Policy: within a sliding window, up to `free_failures` failures are free; each further failure
// doubles a lock-out starting at `base_lockout`, capped at `max_lockout`. A success resets the
// account's counter (not the address's, so one good password does not unlock a spraying address).
// Pure logic: time comes in as `now`; the caller holds it behind a mutex.

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "core/clock.h"

namespace vigil::domain {

struct ThrottlePolicy {
  int free_failures = 5;
  std::chrono::milliseconds window{15 * 60 * 1000};
  std::chrono::milliseconds base_lockout{1000};
  std::chrono::milliseconds max_lockout{15 * 60 * 1000};
};

class Throttle {
 public:
  explicit Throttle(ThrottlePolicy policy) : policy_(policy) {}

  // Zero when `key` may try now, else how long it must wait.
  std::chrono::milliseconds RetryAfter(const std::string& key, TimePoint now) const;
  void RecordFailure(const std::string& key, TimePoint now);
  // Takes back one recorded failure (an attempt counted in advance that turned out fine), and
  // the lock-out it caused, if any.
  void Forgive(const std::string& key);
  void Reset(const std::string& key);
  // Drops entries whose window has passed (call now and then to bound memory).
  void Prune(TimePoint now);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    int failures = 0;
    TimePoint first_failure;
    TimePoint locked_until;
  };
  ThrottlePolicy policy_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace vigil::domain
