#include "core/money.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

Currency Cur(const char* c) { return *Currency::FromCode(c); }

TEST(CurrencyTest, KnowsMinorDigits) {
  EXPECT_EQ(Cur("EUR").minor_digits(), 2);
  EXPECT_EQ(Cur("JPY").minor_digits(), 0);
  EXPECT_EQ(Cur("KWD").minor_digits(), 3);
  EXPECT_EQ(Currency::FromCode("eur").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(Currency::FromCode("XXXX").has_value());
  EXPECT_FALSE(Currency::FromCode("").has_value());
}

TEST(MoneyTest, ParsesAndFormats) {
  EXPECT_EQ(Money::Parse("12.50", Cur("EUR"))->minor_units(), 1250);
  EXPECT_EQ(Money::Parse("12.5", Cur("EUR"))->minor_units(), 1250);
  EXPECT_EQ(Money::Parse("-3", Cur("EUR"))->minor_units(), -300);
  EXPECT_EQ(Money::Parse("1500", Cur("JPY"))->ToString(), "1500 JPY");
  EXPECT_EQ(Money::Parse("1.234", Cur("KWD"))->AmountString(), "1.234");
  EXPECT_EQ(Money(-5, Cur("USD")).AmountString(), "-0.05");
}

TEST(MoneyTest, RefusesMalformedAmounts) {
  for (const char* bad : {"", "-", ".", "1.", "1.2.3", "1,50", "abc", "1e5", " 1", "12.345",
                          "99999999999999999999999"}) {
    auto r = Money::Parse(bad, Cur("EUR"));
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(Money::Parse("1.5", Cur("JPY")).has_value());
}

TEST(MoneyTest, ArithmeticChecksCurrencyAndOverflow) {
  Money a(100, Cur("EUR"));
  EXPECT_EQ(a.Add(Money(50, Cur("EUR")))->minor_units(), 150);
  EXPECT_EQ(a.Subtract(Money(150, Cur("EUR")))->minor_units(), -50);
  EXPECT_EQ(a.Add(Money(1, Cur("USD"))).error().code(), ErrorCode::kInvalidArgument);
  Money big(INT64_MAX, Cur("EUR"));
  EXPECT_FALSE(big.Add(Money(1, Cur("EUR"))).has_value());
}

TEST(MoneyTest, MultiplyRatioRoundsHalfAwayFromZero) {
  Money rate(9999, Cur("EUR"));                                   // 99.99 per hour
  EXPECT_EQ(rate.MultiplyRatio(150, 100)->minor_units(), 14999);  // 149.985 → 149.99
  EXPECT_EQ(Money(-9999, Cur("EUR")).MultiplyRatio(150, 100)->minor_units(), -14999);
  EXPECT_EQ(Money(10, Cur("EUR")).MultiplyRatio(1, 4)->minor_units(), 3);  // 2.5 → 3
  EXPECT_EQ(Money(10, Cur("EUR")).MultiplyRatio(1, 0).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(Money(INT64_MAX, Cur("EUR")).MultiplyRatio(2, 1).has_value());
}

}  // namespace
}  // namespace vigil
