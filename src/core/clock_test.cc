#include "core/clock.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(ClockTest, FormatsRfc3339InUtcWithMillis) {
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(FromUnixMillis(1795377183120)), "2026-11-22T19:53:03.120Z");
}

TEST(ClockTest, ParsesRfc3339) {
  EXPECT_EQ(ToUnixMillis(*ParseRfc3339("2026-11-22T19:53:03.120Z")), 1795377183120);
  EXPECT_EQ(ToUnixMillis(*ParseRfc3339("2026-11-22T20:53:03.120123456+01:00")), 1795377183120);
  // A leap second counts as the second before it.
  EXPECT_EQ(*ParseRfc3339("2016-12-31T23:59:60Z"), *ParseRfc3339("2016-12-31T23:59:59Z"));
  for (const char* bad : {"", "2026-11-22", "2026-13-01T00:00:00Z", "2026-11-22T19:53:03",
                          "2026-11-22T24:00:00Z", "2026-02-30T00:00:00Z", "1800-01-01T00:00:00Z",
                          "2026-11-22T19:53:03.Z", "2026-11-22T19:53:03Zjunk"}) {
    EXPECT_EQ(ParseRfc3339(bad).status().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ToUnixMillis(*ParseRfc3339("2026-11-22T19:53:03", std::chrono::minutes(60))),
            1795377183000 - 3600000);
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
