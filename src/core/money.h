#pragma once

// Money: an amount in integer minor units (cents) of an ISO 4217 currency. No floating point.
// Arithmetic between different currencies is a bug in the caller and is refused with a Status.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vigil {

// A validated ISO 4217 alphabetic code with its number of minor-unit digits.
class Currency {
 public:
  // Errors: kInvalidArgument for a code that is not a known ISO 4217 currency.
  static Result<Currency> FromCode(std::string_view code);

  std::string_view code() const { return std::string_view(code_.data(), 3); }
  int minor_digits() const { return minor_digits_; }
  bool operator==(const Currency& o) const { return code_ == o.code_; }

 private:
  Currency(std::array<char, 3> code, int digits) : code_(code), minor_digits_(digits) {}
  std::array<char, 3> code_;
  int minor_digits_;
};

class Money {
 public:
  Money(int64_t minor_units, Currency currency) : minor_(minor_units), currency_(currency) {}

  // Parses a decimal string such as "12.50" or "-3" in the currency's minor digits.
  // Errors: kInvalidArgument for malformed text, too many decimals or overflow.
  static Result<Money> Parse(std::string_view text, Currency currency);

  int64_t minor_units() const { return minor_; }
  const Currency& currency() const { return currency_; }

  // Errors: kInvalidArgument for a currency mismatch, kInvalidArgument on overflow.
  Result<Money> Add(const Money& other) const;
  Result<Money> Subtract(const Money& other) const;
  // Multiplies by quantity/divisor, rounding half away from zero (e.g. hours in hundredths).
  Result<Money> MultiplyRatio(int64_t numerator, int64_t denominator) const;

  // "12.50 EUR"
  std::string ToString() const;
  // "12.50"
  std::string AmountString() const;

  bool operator==(const Money& o) const = default;

 private:
  int64_t minor_;
  Currency currency_;
};

}  // namespace vigil
