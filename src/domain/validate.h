#pragma once

// Validation rules for what people type: e-mail addresses, phone numbers, time zones, business
// hours, passwords. Pure functions; each returns an error text (for a FieldError) or nullopt.

#include <optional>
#include <string>
#include <string_view>

#include "domain/accounts.h"

namespace vigil::domain {

// A practical check (RFC 5321 lengths, one '@', a dotted domain, no spaces or control characters).
std::optional<std::string> CheckEmail(std::string_view email);
// Digits with optional leading '+', spaces, dashes, dots, parentheses; 4..20 digits.
std::optional<std::string> CheckPhone(std::string_view phone);
// "UTC" or an IANA-shaped name ("Europe/Berlin", "America/Argentina/Buenos_Aires").
std::optional<std::string> CheckTimezoneName(std::string_view tz);
// At least 12 characters, at most 1024 bytes.
std::optional<std::string> CheckPassword(std::string_view password);

// Lower-cases ASCII letters (e-mail addresses are compared case-insensitively).
std::string AsciiLower(std::string_view s);

// "HH:MM" → minutes; nullopt when malformed.
std::optional<int> ParseClock(std::string_view hhmm);
std::string FormatClock(int minutes);

// Weekday keys used in JSON: "mon".."sun".
inline constexpr std::string_view kWeekdayKeys[7] = {"mon", "tue", "wed", "thu",
                                                     "fri", "sat", "sun"};

// Monday–Friday 08:00–17:00, the default for new clients.
BusinessHours DefaultBusinessHours();

}  // namespace vigil::domain
