#include "domain/validate.h"

#include <gtest/gtest.h>

namespace vigil::domain {
namespace {

TEST(ValidateTest, Email) {
  EXPECT_FALSE(CheckEmail("a@example.com"));
  EXPECT_FALSE(CheckEmail("first.last+tag@sub.example.co.uk"));
  for (const char* bad : {"", "a", "@example.com", "a@", "a@b", "a@@b.com", "a b@c.com", "a@b..com",
                          "a@.b.com", "<a>@b.com", "a@b.com.", "a\n@b.com"}) {
    EXPECT_TRUE(CheckEmail(bad).has_value()) << bad;
  }
  EXPECT_TRUE(CheckEmail(std::string(65, 'a') + "@b.com").has_value());
}

TEST(ValidateTest, Phone) {
  EXPECT_FALSE(CheckPhone("+49 30 1234567"));
  EXPECT_FALSE(CheckPhone("(555) 123-4567"));
  EXPECT_TRUE(CheckPhone("123").has_value());
  EXPECT_TRUE(CheckPhone("call me").has_value());
  EXPECT_TRUE(CheckPhone("1+2345").has_value());
  EXPECT_TRUE(CheckPhone("123456789012345678901").has_value());
}

TEST(ValidateTest, Timezone) {
  EXPECT_FALSE(CheckTimezoneName("UTC"));
  EXPECT_FALSE(CheckTimezoneName("Europe/Berlin"));
  EXPECT_FALSE(CheckTimezoneName("America/Argentina/Buenos_Aires"));
  EXPECT_FALSE(CheckTimezoneName("Etc/GMT+5"));
  for (const char* bad : {"", "europe/berlin", "/etc/passwd", "Europe//Berlin", "../x",
                          "Europe/Berlin/", "Europe/Ber lin", "Europe/Berlin;DROP"}) {
    EXPECT_TRUE(CheckTimezoneName(bad).has_value()) << bad;
  }
}

TEST(ValidateTest, Password) {
  EXPECT_TRUE(CheckPassword("short").has_value());
  EXPECT_FALSE(CheckPassword("correct horse battery"));
  EXPECT_TRUE(CheckPassword(std::string(1025, 'x')).has_value());
  // Twelve characters, counted as code points.
  EXPECT_FALSE(
      CheckPassword("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"));
}

TEST(ValidateTest, Clock) {
  EXPECT_EQ(ParseClock("08:30"), 510);
  EXPECT_EQ(ParseClock("24:00"), 1440);
  EXPECT_FALSE(ParseClock("24:01"));
  EXPECT_FALSE(ParseClock("8:30"));
  EXPECT_FALSE(ParseClock("08:60"));
  EXPECT_FALSE(ParseClock("ab:cd"));
  EXPECT_EQ(FormatClock(510), "08:30");
}

TEST(ValidateTest, DowntimeCostFromParts) {
  DowntimeCost d;
  EXPECT_FALSE(d.EffectivePerHourMinor());
  d.staff_affected = 10;
  d.loaded_hourly_cost_minor = 5000;
  d.revenue_per_hour_minor = 20000;
  EXPECT_EQ(d.EffectivePerHourMinor(), 70000);
  d.per_hour_minor = 123;
  EXPECT_EQ(d.EffectivePerHourMinor(), 123);
}

TEST(ValidateTest, DefaultBusinessHoursAreWeekdays) {
  BusinessHours h = DefaultBusinessHours();
  EXPECT_TRUE(h.days[0].has_value());
  EXPECT_TRUE(h.days[4].has_value());
  EXPECT_FALSE(h.days[5].has_value());
  EXPECT_EQ(h.days[0]->open_minute, 480);
}

}  // namespace
}  // namespace vigil::domain
