#pragma once

// Human-readable output of API answers: aligned tables for lists and "key: value" lines for single
// objects. Everything shown comes from the server and so is untrusted: values are looked up
// defensively (a missing or mistyped field shows as "-"), control characters are replaced so a
// value cannot move the cursor or recolour the terminal, and cells are truncated to stay readable.
//
// Thread safety: plain functions and values.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"

namespace vigil::cli {

using json::Json;

// `s` made safe for one line of a terminal: tabs and line breaks become spaces, other control
// characters and invalid UTF-8 become '?', and past `max_chars` code points it ends in "...".
std::string SanitizeLine(std::string_view s, size_t max_chars);

// Display width of a sanitized string, in code points.
size_t DisplayWidth(std::string_view s);

// The member at a dotted path ("downtime_cost.per_hour_minor"), or nullptr.
const Json* Lookup(const Json& obj, std::string_view path);

// A scalar for display: strings as they are, numbers, yes/no for booleans, "-" for null or
// missing; arrays of scalars joined with ", "; other values as compact JSON. Sanitized.
std::string Display(const Json* v, size_t max_chars = 60);

struct Column {
  std::string header;  // "NAME"
  std::string path;    // dotted path into each item; ignored when `format` is set
  std::function<std::string(const Json& item)> format = nullptr;  // returns unsanitized text
};

// Renders `items` (an array of objects; anything else renders as no rows) as a table with a header
// row; columns are separated by two spaces and padded to the widest cell. Ends with a newline.
std::string RenderTable(const Json& items, const std::vector<Column>& columns);

// Renders an object as "key: value" lines with the values aligned; nested objects are flattened
// with dotted keys ("downtime_cost.per_hour_minor"). Top-level keys named in `first` come first, in
// that order; the others follow alphabetically. `skip` names top-level keys to leave out.
std::string RenderKeyValues(const Json& obj, const std::vector<std::string>& first = {},
                            const std::vector<std::string>& skip = {});

}  // namespace vigil::cli
