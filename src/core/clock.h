#pragma once

// Clock: the only source of "now". Production code uses SystemClock; tests use FakeClock.
// Domain functions take `now` as a parameter instead of a Clock.
//
// Thread safety: all methods may be called from any thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vigil {

using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
  }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start) : ms_(start.time_since_epoch().count()) {}
  TimePoint Now() const override { return TimePoint(std::chrono::milliseconds(ms_.load())); }
  void Advance(std::chrono::milliseconds d) { ms_ += d.count(); }
  void Set(TimePoint t) { ms_ = t.time_since_epoch().count(); }

 private:
  std::atomic<int64_t> ms_;
};

inline int64_t ToUnixMillis(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint FromUnixMillis(int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

// RFC 3339 in UTC with milliseconds: "2026-11-22T19:53:03.120Z".
std::string FormatRfc3339(TimePoint t);

// Parses an RFC 3339 date-time with a zone ("Z" or "+hh:mm"), up to 9 fractional digits (kept to
// the millisecond), 'T', 't' or ' ' between date and time, years 1900..9999.
// With `default_offset` set, a time without a zone is accepted and taken in that offset.
// Errors: kInvalidArgument.
Result<TimePoint> ParseRfc3339(std::string_view text,
                               std::optional<std::chrono::minutes> default_offset = std::nullopt);

}  // namespace vigil
