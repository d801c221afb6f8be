// Small helpers of http.h that need no Beast: header lookup, query parsing, percent-decoding.

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "net/http.h"

namespace vigil::net {
namespace {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) {
      return false;
    }
  }
  return true;
}

std::optional<std::string_view> FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

// Decodes the escape starting at s[i] == '%'; -1 when it is malformed (not two hex digits).
int DecodeEscapeAt(std::string_view s, size_t i) {
  if (i + 2 >= s.size()) {
    return -1;
  }
  int hi = HexDigitValue(s[i + 1]);
  int lo = HexDigitValue(s[i + 2]);
  if (hi < 0 || lo < 0) {
    return -1;
  }
  return hi * 16 + lo;
}

// Query component decoding: '+' is a space; malformed escapes and %00 are kept literally.
std::string DecodeQueryComponent(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      int v = DecodeEscapeAt(s, i);
      if (v > 0) {
        out += static_cast<char>(v);
        i += 2;
      } else {
        out += c;
      }
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::optional<std::string_view> HttpRequest::Header(std::string_view lower_name) const {
  return FindHeader(headers, lower_name);
}

std::optional<std::string_view> HttpResponse::Header(std::string_view lower_name) const {
  return FindHeader(headers, lower_name);
}

void HttpResponse::SetHeader(std::string name, std::string value) {
  for (char& c : name) {
    c = AsciiLower(c);
  }
  auto same = [&name](const std::pair<std::string, std::string>& h) {
    return EqualsIgnoreCase(h.first, name);
  };
  auto first = std::find_if(headers.begin(), headers.end(), same);
  if (first == headers.end()) {
    headers.emplace_back(std::move(name), std::move(value));
    return;
  }
  // A header set twice before: keep a single copy, in the position of the first.
  headers.erase(std::remove_if(std::next(first), headers.end(), same), headers.end());
  first->first = std::move(name);
  first->second = std::move(value);
}

std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) {
      continue;  // "a=1&&b=2" or a trailing '&'
    }
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (key.empty()) {
      continue;  // "=x" names nothing
    }
    out.emplace_back(DecodeQueryComponent(key), DecodeQueryComponent(value));
  }
  return out;
}

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int v = DecodeEscapeAt(s, i);
    if (v <= 0) {
      return std::nullopt;  // malformed, or an encoded NUL
    }
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

}  // namespace vigil::net
