#include "core/clock.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(ClockTest, FormatsRfc3339InUtcWithMillis) {
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(1795377183120)), "2026-11-22T19:53:03.120Z");
}

TEST(ClockTest, FakeClockAdvances) {
  FakeClock c(FromUnixMillis(1000));
  c.Advance(std::chrono::milliseconds(500));
  EXPECT_EQ(ToUnixMillis(c.Now()), 1500);
  c.Set(FromUnixMillis(42));
  EXPECT_EQ(ToUnixMillis(c.Now()), 42);
}

TEST(ClockTest, SystemClockIsNearNow) {
  SystemClock c;
  auto now = std::chrono::system_clock::now();
  auto diff =
      std::chrono::abs(c.Now() - std::chrono::time_point_cast<std::chrono::milliseconds>(now));
  EXPECT_LT(diff, std::chrono::seconds(5));
}

}  // namespace
}  // namespace vigil
