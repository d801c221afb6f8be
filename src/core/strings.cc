#include "core/strings.h"

#include "core/json.h"

namespace vigil {
namespace {

// Appends the code point at s[i] (or U+FFFD for an invalid byte) and returns the bytes consumed.
size_t AppendSanitized(std::string_view s, size_t i, bool one_line, std::string& out) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    if (c == '\n' && !one_line) {
      out.push_back('\n');
    } else if (c < 0x20 || c == 0x7F) {
      out.push_back(' ');
    } else {
      out.push_back(static_cast<char>(c));
    }
    return 1;
  }
  size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len != 0 && i + len <= s.size() && json::IsValidUtf8(s.substr(i, len))) {
    // C1 controls (U+0080..U+009F) are control characters too.
    if (len == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) {
      out.push_back(' ');
    } else {
      out.append(s.substr(i, len));
    }
    return len;
  }
  out.append("\xEF\xBF\xBD");
  return 1;
}

}  // namespace

std::string SanitizeText(std::string_view s, size_t max_bytes, bool one_line) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (out.size() >= max_bytes) {
      out.append("...");
      break;
    }
    i += AppendSanitized(s, i, one_line, out);
  }
  return out;
}

}  // namespace vigil
