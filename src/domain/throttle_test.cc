#include "domain/throttle.h"

#include <gtest/gtest.h>

namespace vigil::domain {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(ThrottleTest, FreeFailuresThenDoublingLockout) {
  Throttle t({3, minutes(15), seconds(1), minutes(10)});
  TimePoint now = FromUnixMillis(1'000'000);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(t.RetryAfter("a", now).count(), 0);
    t.RecordFailure("a", now);
  }
  EXPECT_EQ(t.RetryAfter("a", now).count(), 0);
  t.RecordFailure("a", now);  // 4th: 1 s
  EXPECT_EQ(t.RetryAfter("a", now), milliseconds(1000));
  t.RecordFailure("a", now);  // 5th: 2 s
  EXPECT_EQ(t.RetryAfter("a", now), milliseconds(2000));
  EXPECT_EQ(t.RetryAfter("a", now + seconds(2)).count(), 0);
  EXPECT_EQ(t.RetryAfter("b", now).count(), 0);  // other keys unaffected
}

TEST(ThrottleTest, ForgiveTakesBackOneFailureAndItsLock) {
  Throttle t({2, minutes(15), seconds(1), minutes(10)});
  TimePoint now = FromUnixMillis(0);
  t.RecordFailure("a", now);
  t.RecordFailure("a", now);
  t.RecordFailure("a", now);  // locks
  EXPECT_GT(t.RetryAfter("a", now).count(), 0);
  t.Forgive("a");
  EXPECT_EQ(t.RetryAfter("a", now).count(), 0);
  t.Forgive("a");
  t.Forgive("a");
  t.Forgive("a");  // more than recorded: harmless
  EXPECT_EQ(t.size(), 0u);
}

TEST(ThrottleTest, LockoutIsCapped) {
  Throttle t({0, minutes(60), seconds(1), seconds(30)});
  TimePoint now = FromUnixMillis(0);
  for (int i = 0; i < 50; ++i) {
    t.RecordFailure("a", now);
  }
  EXPECT_EQ(t.RetryAfter("a", now), seconds(30));
}

TEST(ThrottleTest, WindowExpiresAndResetClears) {
  Throttle t({1, minutes(1), seconds(1), minutes(1)});
  TimePoint now = FromUnixMillis(0);
  t.RecordFailure("a", now);
  t.RecordFailure("a", now);
  EXPECT_GT(t.RetryAfter("a", now).count(), 0);
  // After the window the count starts again: one free failure.
  t.RecordFailure("a", now + minutes(2));
  EXPECT_EQ(t.RetryAfter("a", now + minutes(2)).count(), 0);
  t.Reset("a");
  EXPECT_EQ(t.size(), 0u);
  t.RecordFailure("b", now);
  t.Prune(now + minutes(5));
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace vigil::domain
