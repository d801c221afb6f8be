#include "domain/throttle.h"

#include <algorithm>

namespace vigil::domain {

std::chrono::milliseconds Throttle::RetryAfter(const std::string& key, TimePoint now) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.locked_until <= now) {
    return std::chrono::milliseconds(0);
  }
  return it->second.locked_until - now;
}

void Throttle::RecordFailure(const std::string& key, TimePoint now) {
  Entry& e = entries_[key];
  if (e.failures == 0 || now - e.first_failure > policy_.window) {
    e = Entry{0, now, TimePoint{}};
  }
  ++e.failures;
  int excess = e.failures - policy_.free_failures;
  if (excess > 0) {
    auto lock = policy_.base_lockout * (int64_t{1} << std::min(excess - 1, 20));
    e.locked_until = now + std::min(lock, policy_.max_lockout);
  }
}

void Throttle::Forgive(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return;
  }
  if (--it->second.failures <= 0) {
    entries_.erase(it);
    return;
  }
  if (it->second.failures <= policy_.free_failures) {
    it->second.locked_until = TimePoint{};
  }
}

void Throttle::Reset(const std::string& key) { entries_.erase(key); }

void Throttle::Prune(TimePoint now) {
  std::erase_if(entries_, [&](const auto& kv) {
    return now - kv.second.first_failure > policy_.window && kv.second.locked_until <= now;
  });
}

}  // namespace vigil::domain
