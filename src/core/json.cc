#include "core/json.h"

#include <fmt/format.h>

#include <cstring>

#include "core/strings.h"

namespace vigil::json {
namespace {

// Scans the nesting depth outside strings; returns the offset where the limit is passed, or -1.
int64_t DepthViolation(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        return static_cast<int64_t>(i);
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return -1;
}

std::string TruncateUtf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) {
    return std::string(s);
  }
  size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
    --n;
  }
  return std::string(s.substr(0, n)) + "...";
}

}  // namespace

const char* TypeName(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    // ASCII, most of any text here, eight bytes at a time.
    while (i + 8 <= s.size()) {
      uint64_t word = 0;
      std::memcpy(&word, p + i, 8);
      if ((word & 0x8080808080808080ULL) != 0) {
        break;
      }
      i += 8;
    }
    if (i >= s.size()) {
      break;
    }
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) {
      return false;
    }
    for (int k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) {
      return false;  // overlong
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::optional<std::string> TextError(std::string_view s, size_t min_len, size_t max_len,
                                     Text text) {
  // Printable ASCII, by far the most common text, needs one pass and no UTF-8 decoding.
  size_t n = 0;
  while (n < s.size() && static_cast<unsigned char>(s[n]) >= 0x20 &&
         static_cast<unsigned char>(s[n]) < 0x7F) {
    ++n;
  }
  if (n < s.size()) {
    if (!IsValidUtf8(s)) {
      return "must be valid UTF-8";
    }
    for (unsigned char c : s) {
      bool control = c < 0x20 || c == 0x7F;
      if (control && !(text == Text::kMultiline && (c == '\n' || c == '\t' || c == '\r'))) {
        return "must not contain control characters";
      }
    }
    n = Utf8CodePoints(s);
  }
  if (n < min_len) {
    return min_len == 1 ? std::string("must not be empty")
                        : fmt::format("must be at least {} characters", min_len);
  }
  if (n > max_len) {
    return fmt::format("must be at most {} characters", max_len);
  }
  return std::nullopt;
}

Result<Json> Parse(std::string_view text, const ParseLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return PayloadTooLarge(fmt::format("body is larger than {} bytes", limits.max_bytes));
  }
  if (!IsValidUtf8(text)) {
    return InvalidArgument("body is not valid UTF-8");
  }
  // nlohmann stops reading at a NUL byte and would accept "{}\0anything"; no JSON text holds
  // one (inside strings it must be escaped).
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return InvalidArgument(fmt::format("body is not valid JSON (byte {})", nul + 1));
  }
  if (int64_t at = DepthViolation(text, limits.max_depth); at >= 0) {
    return InvalidArgument(
        fmt::format("JSON nested deeper than {} levels at byte {}", limits.max_depth, at));
  }
  try {
    return Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const Json::parse_error& e) {
    return InvalidArgument(fmt::format("body is not valid JSON (byte {})", e.byte));
  } catch (const std::exception& e) {
    return InvalidArgument("body is not valid JSON");
  }
}

Result<Json> ParseObject(std::string_view text, const ParseLimits& limits) {
  VIGIL_ASSIGN_OR_RETURN(Json j, Parse(text, limits));
  if (!j.is_object()) {
    return InvalidArgument("body must be a JSON object");
  }
  return j;
}

ObjectReader::ObjectReader(const Json& j, std::string prefix) : j_(j), prefix_(std::move(prefix)) {
  if (!j_.is_object()) {
    not_object_ = true;
    errors_.push_back({prefix_.empty() ? "(body)" : prefix_.substr(0, prefix_.size() - 1),
                       "must be a JSON object"});
  }
}

std::string ObjectReader::Path(std::string_view name) const { return prefix_ + std::string(name); }

bool ObjectReader::Has(std::string_view name) const {
  return !not_object_ && j_.find(name) != j_.end();
}

bool ObjectReader::IsNull(std::string_view name) const {
  if (not_object_) {
    return false;
  }
  auto it = j_.find(name);
  return it != j_.end() && it->is_null();
}

bool ObjectReader::TakeNull(std::string_view name) {
  if (!IsNull(name)) {
    return false;
  }
  seen_.emplace(name);
  return true;
}

const Json* ObjectReader::Get(std::string_view name) {
  if (not_object_) {
    return nullptr;
  }
  seen_.emplace(name);
  auto it = j_.find(name);
  if (it == j_.end()) {
    return nullptr;
  }
  return &*it;
}

void ObjectReader::AddError(std::string_view name, std::string detail) {
  errors_.push_back({Path(name), std::move(detail)});
}

std::optional<std::string> ObjectReader::CheckString(std::string_view name, const Json& v,
                                                     size_t min_len, size_t max_len, Text text) {
  if (!v.is_string()) {
    AddError(name, fmt::format("must be a string, not {}", TypeName(v)));
    return std::nullopt;
  }
  const auto& s = v.get_ref<const std::string&>();
  if (auto error = TextError(s, min_len, max_len, text)) {
    AddError(name, std::move(*error));
    return std::nullopt;
  }
  return s;
}

std::string ObjectReader::String(std::string_view name, size_t min_len, size_t max_len, Text text) {
  const Json* v = Get(name);
  if (v == nullptr) {
    if (!not_object_) {
      AddError(name, "is required");
    }
    return {};
  }
  return CheckString(name, *v, min_len, max_len, text).value_or("");
}

std::optional<std::string> ObjectReader::OptString(std::string_view name, size_t min_len,
                                                   size_t max_len, Text text) {
  const Json* v = Get(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  return CheckString(name, *v, min_len, max_len, text);
}

std::optional<int64_t> ObjectReader::OptInt(std::string_view name, int64_t min, int64_t max) {
  const Json* v = Get(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  int64_t out = 0;
  if (v->is_number_integer() && !v->is_number_unsigned()) {
    out = v->get<int64_t>();
  } else if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(max)) {
      AddError(name, fmt::format("must be between {} and {}", min, max));
      return std::nullopt;
    }
    out = static_cast<int64_t>(u);
  } else if (v->is_number_float()) {
    AddError(name, fmt::format("must be an integer between {} and {}", min, max));
    return std::nullopt;
  } else {
    AddError(name, fmt::format("must be an integer, not {}", TypeName(*v)));
    return std::nullopt;
  }
  if (out < min || out > max) {
    AddError(name, fmt::format("must be between {} and {}", min, max));
    return std::nullopt;
  }
  return out;
}

int64_t ObjectReader::Int(std::string_view name, int64_t min, int64_t max) {
  if (!Has(name)) {
    Get(name);
    if (!not_object_) {
      AddError(name, "is required");
    }
    return 0;
  }
  return OptInt(name, min, max).value_or(0);
}

std::optional<bool> ObjectReader::OptBool(std::string_view name) {
  const Json* v = Get(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_boolean()) {
    AddError(name, fmt::format("must be true or false, not {}", TypeName(*v)));
    return std::nullopt;
  }
  return v->get<bool>();
}

bool ObjectReader::Bool(std::string_view name) {
  if (!Has(name)) {
    Get(name);
    if (!not_object_) {
      AddError(name, "is required");
    }
    return false;
  }
  return OptBool(name).value_or(false);
}

std::optional<std::string> ObjectReader::OptEnum(std::string_view name,
                                                 const std::vector<std::string_view>& allowed) {
  const Json* v = Get(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  std::string list;
  for (auto a : allowed) {
    if (!list.empty()) {
      list += ", ";
    }
    list += a;
  }
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    for (auto a : allowed) {
      if (s == a) {
        return s;
      }
    }
  }
  AddError(name, "must be one of: " + list);
  return std::nullopt;
}

std::string ObjectReader::Enum(std::string_view name,
                               const std::vector<std::string_view>& allowed) {
  if (!Has(name)) {
    Get(name);
    if (!not_object_) {
      AddError(name, "is required");
    }
    return {};
  }
  return OptEnum(name, allowed).value_or("");
}

std::optional<std::vector<std::string>> ObjectReader::OptStringArray(std::string_view name,
                                                                     size_t max_items,
                                                                     size_t min_len,
                                                                     size_t max_len) {
  const Json* v = Get(name);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (!v->is_array()) {
    AddError(name, fmt::format("must be an array of strings, not {}", TypeName(*v)));
    return std::nullopt;
  }
  if (v->size() > max_items) {
    AddError(name, fmt::format("must have at most {} items", max_items));
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < v->size(); ++i) {
    auto s = CheckString(fmt::format("{}[{}]", name, i), (*v)[i], min_len, max_len, Text::kLine);
    if (!s) {
      return std::nullopt;
    }
    out.push_back(std::move(*s));
  }
  return out;
}

const Json* ObjectReader::OptObject(std::string_view name) {
  const Json* v = Get(name);
  if (v == nullptr || v->is_null()) {
    return nullptr;
  }
  if (!v->is_object()) {
    AddError(name, fmt::format("must be an object, not {}", TypeName(*v)));
    return nullptr;
  }
  return v;
}

Status ObjectReader::Finish(Unknown unknown) {
  if (!not_object_ && unknown == Unknown::kRefuse) {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (seen_.find(it.key()) == seen_.end()) {
        std::string key = TruncateUtf8(it.key(), 64);
        errors_.push_back({Path(key), "is not a known field"});
      }
    }
  }
  if (errors_.empty()) {
    return Status::Ok();
  }
  return FieldsInvalid(errors_);
}

}  // namespace vigil::json
