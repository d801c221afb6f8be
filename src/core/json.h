#pragma once

// Decoding of untrusted JSON (API bodies, agent batches) into typed values.
//
// Parse() enforces size and nesting limits before nlohmann-json sees the text (deep nesting would
// otherwise recurse without bound) and turns every exception into a Status. ObjectReader reads the
// fields of one object, collecting one FieldError per wrong field and refusing unknown fields, so a
// 400 names every field that was wrong and nothing is changed.
//
// Thread safety: values; an ObjectReader is used by one thread.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vigil::json {

using Json = nlohmann::json;

struct ParseLimits {
  size_t max_bytes = 1 << 20;
  int max_depth = 32;
};

// Errors: kPayloadTooLarge past max_bytes; kInvalidArgument for malformed JSON, invalid UTF-8 or
// nesting deeper than max_depth (the message says where).
Result<Json> Parse(std::string_view text, const ParseLimits& limits = {});

// "a string", "an integer", "null"...: for messages such as "must be a string, not an array".
const char* TypeName(const Json& v);

// Returns true when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

enum class Text {
  kLine,       // one line: no control characters at all
  kMultiline,  // newlines and tabs allowed, other control characters refused
};

// The rules ObjectReader applies to a string field, for decoders that read strings themselves
// (json::Reader): nullopt when `s` passes, else the error's detail ("must be valid UTF-8",
// "must not contain control characters", "must not be empty", "must be at most N characters").
// Lengths count code points.
std::optional<std::string> TextError(std::string_view s, size_t min_len, size_t max_len, Text text);

class ObjectReader {
 public:
  // `j` must outlive the reader. `prefix` is prepended to field names in errors ("site.").
  explicit ObjectReader(const Json& j, std::string prefix = "");

  bool Has(std::string_view name) const;
  // True when the field is present and JSON null (PATCH: clear the value).
  bool IsNull(std::string_view name) const;
  // Like IsNull, and marks the field as read when it is null.
  bool TakeNull(std::string_view name);
  // The raw value of a field the caller reads itself (arrays of objects, uint64...), marked as
  // read; nullptr when absent.
  const Json* Raw(std::string_view name) { return Get(name); }

  // Required fields record "is required" when absent. Optional ones return nullopt when absent.
  std::string String(std::string_view name, size_t min_len, size_t max_len,
                     Text text = Text::kLine);
  std::optional<std::string> OptString(std::string_view name, size_t min_len, size_t max_len,
                                       Text text = Text::kLine);
  int64_t Int(std::string_view name, int64_t min, int64_t max);
  std::optional<int64_t> OptInt(std::string_view name, int64_t min, int64_t max);
  bool Bool(std::string_view name);
  std::optional<bool> OptBool(std::string_view name);
  // One of `allowed`.
  std::string Enum(std::string_view name, const std::vector<std::string_view>& allowed);
  std::optional<std::string> OptEnum(std::string_view name,
                                     const std::vector<std::string_view>& allowed);
  // An array of strings, each validated like String().
  std::optional<std::vector<std::string>> OptStringArray(std::string_view name, size_t max_items,
                                                         size_t min_len, size_t max_len);
  // A nested object (nullptr when absent or not an object; the latter records an error).
  const Json* OptObject(std::string_view name);

  // Records an error found by the caller's own validation.
  void AddError(std::string_view name, std::string detail);

  // Unknown fields become errors here. Returns OK or kInvalidArgument with every FieldError.
  enum class Unknown { kRefuse, kIgnore };
  // kIgnore is for replies from a server, which is upgraded before its agents and may add
  // fields; requests to the server always refuse them.
  Status Finish(Unknown unknown = Unknown::kRefuse);

 private:
  const Json* Get(std::string_view name);
  std::string Path(std::string_view name) const;
  std::optional<std::string> CheckString(std::string_view name, const Json& v, size_t min_len,
                                         size_t max_len, Text text);

  const Json& j_;
  std::string prefix_;
  std::set<std::string, std::less<>> seen_;
  std::vector<FieldError> errors_;
  bool not_object_ = false;
};

// Reads a whole body as an object: Parse + "must be a JSON object".
Result<Json> ParseObject(std::string_view text, const ParseLimits& limits = {});

}  // namespace vigil::json
