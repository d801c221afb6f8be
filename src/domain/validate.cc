#include "domain/validate.h"

#include <fmt/format.h>

#include "core/strings.h"

namespace vigil::domain {
namespace {
bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
}  // namespace

std::optional<int64_t> DowntimeCost::EffectivePerHourMinor() const {
  if (per_hour_minor) {
    return per_hour_minor;
  }
  if (!staff_affected && !loaded_hourly_cost_minor && !revenue_per_hour_minor) {
    return std::nullopt;
  }
  int64_t staff = staff_affected.value_or(0) * loaded_hourly_cost_minor.value_or(0);
  return staff + revenue_per_hour_minor.value_or(0);
}

std::string_view ActorTypeName(ActorType t) {
  switch (t) {
    case ActorType::kUser:
      return "user";
    case ActorType::kToken:
      return "token";
    case ActorType::kSystem:
      return "system";
    case ActorType::kRule:
      return "rule";
  }
  return "system";
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::optional<std::string> CheckEmail(std::string_view email) {
  if (email.size() > 254) {
    return "must be at most 254 characters";
  }
  auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 ||
      email.find('@', at + 1) != std::string_view::npos) {
    return "must be an e-mail address like name@example.com";
  }
  auto local = email.substr(0, at);
  auto domain = email.substr(at + 1);
  if (local.size() > 64) {
    return "local part must be at most 64 characters";
  }
  for (unsigned char c : email) {
    if (c <= 0x20 || c == 0x7F || c == '<' || c == '>' || c == '"' || c == ',' || c == ';' ||
        c == '\\' || c == '(' || c == ')' || c == '[' || c == ']') {
      return "must not contain spaces, quotes or brackets";
    }
  }
  if (domain.empty() || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
      domain.back() == '.' || domain.find("..") != std::string_view::npos) {
    return "must be an e-mail address like name@example.com";
  }
  return std::nullopt;
}

std::optional<std::string> CheckPhone(std::string_view phone) {
  int digits = 0;
  for (size_t i = 0; i < phone.size(); ++i) {
    char c = phone[i];
    bool separator = c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/';
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (!separator && !(c == '+' && i == 0)) {
      return "must be a phone number like +49 30 1234567";
    }
  }
  if (digits < 4 || digits > 20) {
    return "must have between 4 and 20 digits";
  }
  return std::nullopt;
}

std::optional<std::string> CheckTimezoneName(std::string_view tz) {
  const char* msg = "must be an IANA time zone such as Europe/Berlin or UTC";
  if (tz == "UTC") {
    return std::nullopt;
  }
  if (tz.empty() || tz.size() > 64 || tz.front() == '/' || tz.back() == '/' ||
      tz.find("//") != std::string_view::npos || tz.find("..") != std::string_view::npos) {
    return msg;
  }
  if (!(tz[0] >= 'A' && tz[0] <= 'Z')) {
    return msg;
  }
  for (char c : tz) {
    if (!IsAsciiAlnum(c) && c != '/' && c != '_' && c != '-' && c != '+') {
      return msg;
    }
  }
  return std::nullopt;
}

std::optional<std::string> CheckPassword(std::string_view password) {
  if (Utf8CodePoints(password) < 12) {
    return "must be at least 12 characters";
  }
  if (password.size() > 1024) {
    return "must be at most 1024 bytes";
  }
  return std::nullopt;
}

std::optional<int> ParseClock(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') {
    return std::nullopt;
  }
  for (size_t i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') {
      return std::nullopt;
    }
  }
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0)) {
    return std::nullopt;
  }
  return h * 60 + m;
}

std::string FormatClock(int minutes) {
  return fmt::format("{:02d}:{:02d}", minutes / 60, minutes % 60);
}

BusinessHours DefaultBusinessHours() {
  BusinessHours h;
  for (int d = 0; d < 5; ++d) {
    h.days[d] = DayHours{8 * 60, 17 * 60};
  }
  return h;
}

}  // namespace vigil::domain
