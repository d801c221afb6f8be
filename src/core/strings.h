#pragma once

// Small string helpers shared across modules.

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil {

// The number of code points in UTF-8 text (continuation bytes are not counted).
inline size_t Utf8CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

// `s` as text safe to show and store: valid UTF-8 (an invalid byte becomes U+FFFD), control
// characters (C0, DEL, C1) replaced by a space ('\n' kept unless `one_line`), cut at a code
// point after about `max_bytes` with "..." appended.
std::string SanitizeText(std::string_view s, size_t max_bytes, bool one_line = true);

// `s` without leading and trailing white space (space, tab, CR, LF, VT, FF).
inline std::string_view TrimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) {
    return {};
  }
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// Splits off the next token of `s` separated by spaces or tabs (after trimming `s`).
inline std::string_view NextToken(std::string_view& s) {
  s = TrimSpace(s);
  size_t end = s.find_first_of(" \t");
  std::string_view tok = s.substr(0, end);
  s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  return tok;
}

// The value of one hexadecimal digit (either case), or -1.
constexpr int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace vigil
