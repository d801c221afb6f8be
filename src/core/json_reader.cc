#include "core/json_reader.h"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/strings.h"

namespace vigil::json {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

const char* TypeName(Reader::Type type) {
  switch (type) {
    case Reader::Type::kNull:
      return "null";
    case Reader::Type::kBool:
      return "a boolean";
    case Reader::Type::kInteger:
      return "an integer";
    case Reader::Type::kNumber:
      return "a number";
    case Reader::Type::kString:
      return "a string";
    case Reader::Type::kArray:
      return "an array";
    case Reader::Type::kObject:
      return "an object";
    case Reader::Type::kNone:
      break;
  }
  return "an unsupported value";
}

Reader::Reader(std::string_view text, const ParseLimits& limits)
    : text_(text), max_depth_(limits.max_depth) {
  if (text.size() > limits.max_bytes) {
    error_ = PayloadTooLarge(fmt::format("body is larger than {} bytes", limits.max_bytes));
  } else if (!IsValidUtf8(text)) {
    error_ = InvalidArgument("body is not valid UTF-8");
  }
}

bool Reader::Fail(size_t at) {
  if (error_.ok()) {
    error_ = InvalidArgument(fmt::format("body is not valid JSON (byte {})", at + 1));
  }
  pos_ = text_.size();
  return false;
}

bool Reader::Expect(char c) {
  SkipSpace();
  if (pos_ < text_.size() && text_[pos_] == c) {
    ++pos_;
    return true;
  }
  return Fail(pos_);
}

Reader::Type Reader::Peek() {
  if (failed()) {
    return Type::kNone;
  }
  SkipSpace();
  if (pos_ != peeked_at_) {
    peeked_ = PeekAt();
    peeked_at_ = pos_;
  }
  return peeked_;
}

Reader::Type Reader::PeekAt() {
  if (pos_ >= text_.size()) {
    return Type::kNone;
  }
  switch (text_[pos_]) {
    case '{':
      return Type::kObject;
    case '[':
      return Type::kArray;
    case '"':
      return Type::kString;
    case 't':
    case 'f':
      return Type::kBool;
    case 'n':
      return Type::kNull;
    default:
      break;
  }
  char c = text_[pos_];
  if (c != '-' && !IsDigit(c)) {
    return Type::kNone;
  }
  // A number: integer unless a fraction or an exponent follows its digits. Whether it fits 64
  // bits is settled when it is read; Peek only needs the shape for messages.
  size_t i = pos_ + 1;
  while (i < text_.size() && IsDigit(text_[i])) {
    ++i;
  }
  bool fraction = i < text_.size() && (text_[i] == '.' || text_[i] == 'e' || text_[i] == 'E');
  return fraction ? Type::kNumber : Type::kInteger;
}

bool Reader::Enter(char open) {
  if (++depth_ > max_depth_) {
    if (error_.ok()) {
      error_ = InvalidArgument(
          fmt::format("JSON nested deeper than {} levels at byte {}", max_depth_, pos_));
    }
    pos_ = text_.size();
    return false;
  }
  ++pos_;
  open_ += open;
  first_ = true;
  return true;
}

bool Reader::BeginObject() {
  if (Peek() != Type::kObject) {
    return Fail(pos_);
  }
  return Enter('{');
}

bool Reader::BeginArray() {
  if (Peek() != Type::kArray) {
    return Fail(pos_);
  }
  return Enter('[');
}

bool Reader::NextInContainer(char close) {
  if (failed()) {
    return false;
  }
  SkipSpace();
  if (pos_ >= text_.size()) {
    return Fail(pos_);
  }
  bool first = first_;
  first_ = false;
  if (text_[pos_] == close) {
    ++pos_;
    --depth_;
    open_.pop_back();
    return false;
  }
  if (!first) {
    if (text_[pos_] != ',') {
      return Fail(pos_);
    }
    ++pos_;
  }
  return true;
}

bool Reader::NextMember() {
  if (!NextInContainer('}')) {
    return false;
  }
  SkipSpace();
  if (pos_ >= text_.size() || text_[pos_] != '"') {
    return Fail(pos_);
  }
  key_.clear();
  if (!ReadStringInto(key_)) {
    return false;
  }
  return Expect(':');
}

bool Reader::NextElement() {
  if (!NextInContainer(']')) {
    return false;
  }
  SkipSpace();
  if (pos_ < text_.size() && text_[pos_] == ']') {
    return Fail(pos_);  // a trailing comma
  }
  return true;
}

bool Reader::ReadStringInto(std::string& out) {
  ++pos_;  // the opening quote
  size_t start = pos_;
  // Fast path: the run up to the closing quote without escapes or control characters.
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == '"') {
      out.append(text_.data() + start, pos_ - start);
      ++pos_;
      return true;
    }
    if (c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      break;
    }
    ++pos_;
  }
  out.append(text_.data() + start, pos_ - start);
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == '"') {
      ++pos_;
      return true;
    }
    if (static_cast<unsigned char>(c) < 0x20) {
      return Fail(pos_);
    }
    if (c != '\\') {
      out += c;
      ++pos_;
      continue;
    }
    if (pos_ + 1 >= text_.size()) {
      return Fail(pos_);
    }
    char e = text_[pos_ + 1];
    pos_ += 2;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        continue;
      case 'b':
        out += '\b';
        continue;
      case 'f':
        out += '\f';
        continue;
      case 'n':
        out += '\n';
        continue;
      case 'r':
        out += '\r';
        continue;
      case 't':
        out += '\t';
        continue;
      case 'u':
        break;
      default:
        return Fail(pos_ - 1);
    }
    auto hex4 = [&](uint32_t& v) {
      if (pos_ + 4 > text_.size()) {
        return false;
      }
      v = 0;
      for (int k = 0; k < 4; ++k) {
        int h = HexDigitValue(text_[pos_ + k]);
        if (h < 0) {
          return false;
        }
        v = (v << 4) | static_cast<uint32_t>(h);
      }
      pos_ += 4;
      return true;
    };
    uint32_t cp = 0;
    if (!hex4(cp)) {
      return Fail(pos_);
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return Fail(pos_ - 4);  // a low surrogate without its high half
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      uint32_t low = 0;
      if (pos_ + 2 > text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') {
        return Fail(pos_);
      }
      pos_ += 2;
      if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) {
        return Fail(pos_);
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(out, cp);
  }
  return Fail(pos_);
}

std::optional<std::string> Reader::String() {
  if (Peek() != Type::kString) {
    Fail(pos_);
    return std::nullopt;
  }
  std::string out;
  if (!ReadStringInto(out)) {
    return std::nullopt;
  }
  return out;
}

bool Reader::StringInto(std::string& out) {
  if (Peek() != Type::kString) {
    return Fail(pos_);
  }
  out.clear();
  return ReadStringInto(out);
}

std::optional<Reader::Number> Reader::ReadNumber() {
  Type t = Peek();
  if (t != Type::kInteger && t != Type::kNumber) {
    Fail(pos_);
    return std::nullopt;
  }
  const size_t start = pos_;
  size_t i = pos_;
  // The digits of the integer part and fraction as one integer, while it stays exact.
  uint64_t mantissa = 0;
  size_t mantissa_digits = 0;
  auto digits = [&](bool accumulate) {
    size_t from = i;
    while (i < text_.size() && IsDigit(text_[i])) {
      if (accumulate && ++mantissa_digits <= 19) {
        mantissa = mantissa * 10 + static_cast<uint64_t>(text_[i] - '0');
      }
      ++i;
    }
    return i - from;
  };
  Number n;
  if (text_[i] == '-') {
    n.negative = true;
    ++i;
  }
  size_t int_start = i;
  size_t int_digits = digits(true);
  if (int_digits == 0 || (int_digits > 1 && text_[int_start] == '0')) {
    Fail(int_start);
    return std::nullopt;
  }
  bool exact = true;
  bool exponent = false;
  size_t fraction_digits = 0;
  if (i < text_.size() && text_[i] == '.') {
    ++i;
    fraction_digits = digits(true);
    if (fraction_digits == 0) {
      Fail(i);
      return std::nullopt;
    }
    exact = false;
  }
  if (i < text_.size() && (text_[i] == 'e' || text_[i] == 'E')) {
    ++i;
    if (i < text_.size() && (text_[i] == '+' || text_[i] == '-')) {
      ++i;
    }
    if (digits(false) == 0) {
      Fail(i);
      return std::nullopt;
    }
    exact = false;
    exponent = true;
  }
  pos_ = i;
  // Up to 15 digits without an exponent (most numbers here: "41.5", "85"): the mantissa and
  // the power of ten are exact doubles, so one division is correctly rounded (Clinger's fast
  // path, which from_chars would take too).
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                      1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                      1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  if (!exponent && mantissa_digits <= 15) {
    n.value = static_cast<double>(mantissa) / kPow10[fraction_digits];
    if (n.negative) {
      n.value = -n.value;
    }
    if (exact) {
      n.integer = true;
      n.as_unsigned = n.negative ? 0 : mantissa;
      n.as_signed = n.negative ? -static_cast<int64_t>(mantissa) : static_cast<int64_t>(mantissa);
    }
    return n;
  }
  const char* first = text_.data() + start;
  const char* last = text_.data() + i;
  if (exact) {
    const char* digits_first = text_.data() + int_start;
    uint64_t u = 0;
    auto [p, ec] = std::from_chars(digits_first, last, u);
    if (ec == std::errc() && p == last) {
      if (!n.negative) {
        n.integer = true;
        n.as_unsigned = u;
        n.as_signed = u <= static_cast<uint64_t>(INT64_MAX) ? static_cast<int64_t>(u) : 0;
      } else if (u <= static_cast<uint64_t>(INT64_MAX) + 1) {
        n.integer = true;
        n.as_signed =
            u == static_cast<uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<int64_t>(u);
      }
    }
  }
  auto [p, ec] = std::from_chars(first, last, n.value);
  if (ec == std::errc::result_out_of_range) {
    // from_chars refuses underflow as well as overflow; strtod tells them apart.
    std::string copy(first, last);
    errno = 0;
    n.value = std::strtod(copy.c_str(), nullptr);
    if (!std::isfinite(n.value)) {
      Fail(start);
      return std::nullopt;
    }
  } else if (ec != std::errc() || p != last) {
    Fail(start);
    return std::nullopt;
  }
  return n;
}

std::optional<bool> Reader::Bool() {
  if (Peek() == Type::kBool) {
    if (text_.substr(pos_, 4) == "true") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "false") {
      pos_ += 5;
      return false;
    }
  }
  Fail(pos_);
  return std::nullopt;
}

bool Reader::Null() {
  if (Peek() == Type::kNull && text_.substr(pos_, 4) == "null") {
    pos_ += 4;
    return true;
  }
  return Fail(pos_);
}

bool Reader::Skip() {
  const int base = depth_;
  std::string scratch;
  for (;;) {
    switch (Peek()) {
      case Type::kObject:
        if (!BeginObject()) {
          return false;
        }
        break;
      case Type::kArray:
        if (!BeginArray()) {
          return false;
        }
        break;
      case Type::kString:
        scratch.clear();
        if (!ReadStringInto(scratch)) {
          return false;
        }
        break;
      case Type::kInteger:
      case Type::kNumber:
        if (!ReadNumber()) {
          return false;
        }
        break;
      case Type::kBool:
        if (!Bool()) {
          return false;
        }
        break;
      case Type::kNull:
        if (!Null()) {
          return false;
        }
        break;
      case Type::kNone:
        return Fail(pos_);
    }
    // Move on to the next value inside the containers opened here, closing those that end.
    for (;;) {
      if (depth_ == base) {
        return !failed();
      }
      bool more = open_.back() == '{' ? NextMember() : NextElement();
      if (failed()) {
        return false;
      }
      if (more) {
        break;
      }
    }
  }
}

Status Reader::Finish() {
  if (failed()) {
    return error_;
  }
  SkipSpace();
  if (pos_ != text_.size() || depth_ != 0) {
    Fail(pos_);
    return error_;
  }
  return Status::Ok();
}

}  // namespace vigil::json
