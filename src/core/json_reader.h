#pragma once

// json::Reader: strict JSON (RFC 8259) read value by value from a string, without building a tree.
//
// For the hot decoders of untrusted input (agent batches, P1 in DESIGN.md): json::Parse builds
// an nlohmann DOM (one allocation per value and per key) that the decoder then walks again;
// the Reader lets a decoder check each value as it passes and keep only what it stores.
//
//   json::Reader in(text, {.max_bytes = 4 << 20, .max_depth = 8});
//   if (in.BeginObject()) {
//     while (in.NextMember()) {
//       if (in.key() == "name") { auto s = in.String(); ... } else { in.Skip(); }
//     }
//   }
//   Status s = in.Finish();  // syntax errors anywhere, or trailing bytes
//
// Syntax errors are sticky: after the first one every call returns false/nullopt/kNone and
// Finish() reports it ("body is not valid JSON (byte N)"), like json::Parse. Type mismatches are
// not syntax errors: Peek() tells the caller what comes, and the caller Skip()s what it refuses.
// Strings are checked for well-formed UTF-8 up front; escapes (\uXXXX with surrogate pairs) are
// decoded; raw control characters inside strings are refused, as RFC 8259 says. Numbers follow
// the JSON grammar; an integer without fraction or exponent that fits 64 bits is exact
// (kInteger), anything else is a double (kNumber); a number out of double's range is an error.
//
// Thread safety: one Reader per thread; `text` must outlive it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/json.h"
#include "core/status.h"

namespace vigil::json {

class Reader {
 public:
  enum class Type { kNone, kNull, kBool, kInteger, kNumber, kString, kArray, kObject };

  struct Number {
    double value = 0;
    // Exact integers (no fraction, no exponent, within 64 bits): `negative` tells which of the
    // two holds the value.
    bool integer = false;
    bool negative = false;
    uint64_t as_unsigned = 0;
    int64_t as_signed = 0;
  };

  // kPayloadTooLarge past limits.max_bytes and kInvalidArgument for invalid UTF-8 are reported by
  // Finish(); the reader then reads nothing.
  Reader(std::string_view text, const ParseLimits& limits);

  // The type of the next value (kNone after an error or at the end of the text).
  Type Peek();

  // Objects: BeginObject(), then `while (NextMember()) { read or Skip() the value }`.
  // NextMember returns false at the closing brace (or on an error); key() is the member's name,
  // valid until the next call.
  bool BeginObject();
  bool NextMember();
  const std::string& key() const { return key_; }

  // Arrays: BeginArray(), then `while (NextElement()) { read or Skip() the value }`.
  bool BeginArray();
  bool NextElement();

  std::optional<std::string> String();
  // Like String(), into `out` (replaced; its capacity is reused): for values read to be checked
  // or parsed rather than kept.
  bool StringInto(std::string& out);
  std::optional<Number> ReadNumber();
  std::optional<bool> Bool();
  bool Null();
  // Reads past the next value, whatever it is (key() is not kept).
  bool Skip();

  // OK when the whole text was one value with nothing but whitespace after it and no error.
  Status Finish();
  bool failed() const { return !error_.ok(); }
  size_t offset() const { return pos_; }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }
  Type PeekAt();  // Peek's work, for a position not peeked at yet
  bool Fail(size_t at);
  bool Expect(char c);
  bool ReadStringInto(std::string& out);
  bool Enter(char open);
  bool NextInContainer(char close);

  std::string_view text_;
  size_t pos_ = 0;
  int depth_ = 0;
  int max_depth_;
  bool first_ = false;  // the container just opened has not yielded a member/element yet
  std::string open_;    // '{' or '[' per open container, innermost last
  std::string key_;
  Status error_;
  // The type found at peeked_at_ (callers peek before they read; numbers are scanned to tell).
  size_t peeked_at_ = std::string_view::npos;
  Type peeked_ = Type::kNone;
};

// "null", "a string", "an integer"...: like TypeName(const Json&), for messages such as
// "must be a string, not an array".
const char* TypeName(Reader::Type type);

}  // namespace vigil::json
