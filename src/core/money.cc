#include "core/money.h"

#include <fmt/format.h>

#include <limits>

namespace vigil {
namespace {

struct CurrencyInfo {
  const char* code;
  int digits;
};

// ISO 4217 active codes with their minor units (a practical subset: every currency an MSP is
// likely to invoice in; add more as needed).
constexpr CurrencyInfo kCurrencies[] = {
    {"AED", 2}, {"ARS", 2}, {"AUD", 2}, {"BGN", 2}, {"BHD", 3}, {"BRL", 2}, {"CAD", 2}, {"CHF", 2},
    {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"CZK", 2}, {"DKK", 2}, {"EGP", 2}, {"EUR", 2}, {"GBP", 2},
    {"HKD", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"ISK", 0}, {"JOD", 3}, {"JPY", 0},
    {"KES", 2}, {"KRW", 0}, {"KWD", 3}, {"MAD", 2}, {"MXN", 2}, {"MYR", 2}, {"NGN", 2}, {"NOK", 2},
    {"NZD", 2}, {"OMR", 3}, {"PEN", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"QAR", 2}, {"RON", 2},
    {"RSD", 2}, {"SAR", 2}, {"SEK", 2}, {"SGD", 2}, {"THB", 2}, {"TND", 3}, {"TRY", 2}, {"TWD", 2},
    {"UAH", 2}, {"USD", 2}, {"UYU", 2}, {"VND", 0}, {"ZAR", 2},
};

__extension__ using Int128 = __int128;

int64_t Pow10(int n) {
  int64_t r = 1;
  for (int i = 0; i < n; ++i) {
    r *= 10;
  }
  return r;
}

}  // namespace

Result<Currency> Currency::FromCode(std::string_view code) {
  if (code.size() == 3) {
    for (const auto& c : kCurrencies) {
      if (code == c.code) {
        return Currency({c.code[0], c.code[1], c.code[2]}, c.digits);
      }
    }
  }
  return InvalidArgument(
      fmt::format("'{}' is not a supported ISO 4217 currency code", code.substr(0, 16)));
}

Result<Money> Money::Parse(std::string_view text, Currency currency) {
  auto bad = [&] { return InvalidArgument("malformed amount; expected e.g. 12.50"); };
  if (text.empty() || text.size() > 24) {
    return bad();
  }
  bool negative = false;
  size_t i = 0;
  if (text[0] == '-') {
    negative = true;
    i = 1;
  }
  int64_t whole = 0;
  int64_t frac = 0;
  int frac_digits = -1;
  bool any_digit = false;
  for (; i < text.size(); ++i) {
    char ch = text[i];
    if (ch == '.') {
      if (frac_digits >= 0) {
        return bad();
      }
      frac_digits = 0;
      continue;
    }
    if (ch < '0' || ch > '9') {
      return bad();
    }
    any_digit = true;
    if (frac_digits >= 0) {
      if (++frac_digits > currency.minor_digits()) {
        return InvalidArgument(
            fmt::format("{} allows at most {} decimals", currency.code(), currency.minor_digits()));
      }
      frac = frac * 10 + (ch - '0');
    } else {
      if (whole > (std::numeric_limits<int64_t>::max() / 1000) / 10) {
        return InvalidArgument("amount out of range");
      }
      whole = whole * 10 + (ch - '0');
    }
  }
  if (!any_digit || frac_digits == 0) {
    return bad();
  }
  if (frac_digits < 0) {
    frac_digits = 0;
  }
  frac *= Pow10(currency.minor_digits() - frac_digits);
  int64_t minor = whole * Pow10(currency.minor_digits()) + frac;
  return Money(negative ? -minor : minor, currency);
}

Result<Money> Money::Add(const Money& other) const {
  if (!(currency_ == other.currency_)) {
    return InvalidArgument("currency mismatch");
  }
  int64_t out;
  if (__builtin_add_overflow(minor_, other.minor_, &out)) {
    return InvalidArgument("amount out of range");
  }
  return Money(out, currency_);
}

Result<Money> Money::Subtract(const Money& other) const {
  if (!(currency_ == other.currency_)) {
    return InvalidArgument("currency mismatch");
  }
  int64_t out;
  if (__builtin_sub_overflow(minor_, other.minor_, &out)) {
    return InvalidArgument("amount out of range");
  }
  return Money(out, currency_);
}

Result<Money> Money::MultiplyRatio(int64_t numerator, int64_t denominator) const {
  if (denominator <= 0) {
    return InvalidArgument("denominator must be positive");
  }
  Int128 p = static_cast<Int128>(minor_) * numerator;
  Int128 q = p / denominator;
  Int128 r = p % denominator;
  if (r != 0 && 2 * (r < 0 ? -r : r) >= denominator) {
    q += (p < 0 ? -1 : 1);
  }
  if (q > std::numeric_limits<int64_t>::max() || q < std::numeric_limits<int64_t>::min()) {
    return InvalidArgument("amount out of range");
  }
  return Money(static_cast<int64_t>(q), currency_);
}

std::string Money::AmountString() const {
  int d = currency_.minor_digits();
  uint64_t abs = minor_ < 0 ? 0 - static_cast<uint64_t>(minor_) : static_cast<uint64_t>(minor_);
  std::string sign = minor_ < 0 ? "-" : "";
  if (d == 0) {
    return sign + std::to_string(abs);
  }
  uint64_t p = static_cast<uint64_t>(Pow10(d));
  return fmt::format("{}{}.{:0{}d}", sign, abs / p, abs % p, d);
}

std::string Money::ToString() const { return AmountString() + " " + std::string(currency_.code()); }

}  // namespace vigil
