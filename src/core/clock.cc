#include "core/clock.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/strings.h"

namespace vigil {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at text[pos].
bool ReadDigits(std::string_view text, size_t pos, size_t n, int& out) {
  if (pos + n > text.size()) {
    return false;
  }
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!IsDigit(text[pos + k])) {
      return false;
    }
    v = v * 10 + (text[pos + k] - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::string FormatRfc3339(TimePoint t) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(t);
  year_month_day ymd(days);
  hh_mm_ss hms(t - days);
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z", int(ymd.year()),
                     unsigned(ymd.month()), unsigned(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count(), hms.subseconds().count());
}

Result<TimePoint> ParseRfc3339(std::string_view text,
                               std::optional<std::chrono::minutes> default_offset) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(fmt::format("not an RFC 3339 time ({}): \"{}\"", why,
                                       SanitizeText(text.substr(0, 64), 64)));
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!ReadDigits(text, 0, 4, y) || text.size() < 19 || text[4] != '-' ||
      !ReadDigits(text, 5, 2, mo) || text[7] != '-' || !ReadDigits(text, 8, 2, d) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !ReadDigits(text, 11, 2, h) ||
      text[13] != ':' || !ReadDigits(text, 14, 2, mi) || text[16] != ':' ||
      !ReadDigits(text, 17, 2, s)) {
    return bad("expected YYYY-MM-DDThh:mm:ss");
  }
  if (y < 1900) {
    return bad("year before 1900");
  }
  std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                  std::chrono::day(d)};
  if (!ymd.ok()) {
    return bad("no such date");
  }
  if (h > 23 || mi > 59 || s > 60) {
    return bad("no such time of day");
  }
  s = std::min(s, 59);  // a leap second counts as the second before it
  size_t pos = 19;
  int64_t ms = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (digits < 3) {
        ms = ms * 10 + (text[pos] - '0');
      }
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) {
      return bad("1 to 9 fractional digits expected");
    }
    for (size_t k = digits; k < 3; ++k) {
      ms *= 10;
    }
  }
  minutes offset{0};
  if (pos == text.size()) {
    if (!default_offset) {
      return bad("no time zone");
    }
    offset = *default_offset;
  } else if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int oh = 0, om = 0;
    if (!ReadDigits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ReadDigits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad("bad zone offset");
    }
    offset = hours(oh) + minutes(om);
    if (text[pos] == '-') {
      offset = -offset;
    }
    pos += 6;
  } else {
    return bad("unexpected character");
  }
  if (pos != text.size()) {
    return bad("trailing characters");
  }
  TimePoint t = TimePoint(std::chrono::sys_days(ymd)) + hours(h) + minutes(mi) + seconds(s) +
                milliseconds(ms) - offset;
  return t;
}

}  // namespace vigil
