#include "cli/table.h"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace vigil::cli {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
size_t Utf8Length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = 0;
  uint32_t cp = 0;
  if (c < 0x80) {
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  const bool overlong = (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  // C1 control characters (U+0080..U+009F) are as dangerous on a terminal as C0 ones.
  if (cp >= 0x80 && cp <= 0x9F) {
    return 0;
  }
  return n;
}

constexpr std::string_view kWeekdays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

bool IsWeekdayObject(const Json& v) {
  if (!v.is_object() || v.empty()) {
    return false;
  }
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (std::find(std::begin(kWeekdays), std::end(kWeekdays), it.key()) == std::end(kWeekdays)) {
      return false;
    }
  }
  return true;
}

// Opening hours {"mon": ["08:00", "17:00"], "sat": null}: in week order, "08:00-17:00" / "closed".
void FlattenWeek(const Json& v, const std::string& key,
                 std::vector<std::pair<std::string, std::string>>& out) {
  for (std::string_view day : kWeekdays) {
    auto it = v.find(day);
    if (it == v.end()) {
      continue;
    }
    std::string text;
    if (it->is_null()) {
      text = "closed";
    } else if (it->is_array() && it->size() == 2 && (*it)[0].is_string() && (*it)[1].is_string()) {
      text = SanitizeLine((*it)[0].get<std::string>() + "-" + (*it)[1].get<std::string>(), 40);
    } else {
      text = Display(&*it, 200);
    }
    out.emplace_back(SanitizeLine(key, 60) + "." + std::string(day), text);
  }
}

void Flatten(const Json& v, const std::string& key,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (IsWeekdayObject(v)) {
    FlattenWeek(v, key, out);
    return;
  }
  if (v.is_object() && !v.empty()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      Flatten(it.value(), key.empty() ? it.key() : key + "." + it.key(), out);
    }
    return;
  }
  out.emplace_back(SanitizeLine(key, 60), Display(&v, 200));
}

}  // namespace

std::string SanitizeLine(std::string_view s, size_t max_chars) {
  std::string out;
  out.reserve(std::min(s.size(), max_chars * 4));
  size_t chars = 0;
  for (size_t i = 0; i < s.size();) {
    if (chars == max_chars) {
      out += "...";
      break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\t' || c == '\n' || c == '\r') {
      out += ' ';
      ++i;
    } else if (size_t n = (c < 0x20 || c == 0x7F) ? 0 : Utf8Length(s, i); n == 0) {
      out += '?';  // a control character or invalid UTF-8
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
    ++chars;
  }
  return out;
}

size_t DisplayWidth(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

const Json* Lookup(const Json& obj, std::string_view path) {
  const Json* cur = &obj;
  while (true) {
    size_t dot = path.find('.');
    std::string_view key = path.substr(0, dot);
    if (!cur->is_object()) {
      return nullptr;
    }
    auto it = cur->find(key);
    if (it == cur->end()) {
      return nullptr;
    }
    cur = &*it;
    if (dot == std::string_view::npos) {
      return cur;
    }
    path.remove_prefix(dot + 1);
  }
}

std::string Display(const Json* v, size_t max_chars) {
  if (v == nullptr || v->is_null()) {
    return "-";
  }
  if (v->is_string()) {
    const auto& s = v->get_ref<const std::string&>();
    return s.empty() ? std::string() : SanitizeLine(s, max_chars);
  }
  if (v->is_boolean()) {
    return v->get<bool>() ? "yes" : "no";
  }
  if (v->is_array()) {
    bool scalars = std::all_of(v->begin(), v->end(),
                               [](const Json& e) { return e.is_primitive() && !e.is_null(); });
    if (scalars) {
      std::string joined;
      for (const Json& e : *v) {
        if (!joined.empty()) {
          joined += ", ";
        }
        joined += e.is_string() ? e.get<std::string>()
                                : e.dump(-1, ' ', false, Json::error_handler_t::replace);
      }
      return v->empty() ? "-" : SanitizeLine(joined, max_chars);
    }
  }
  return SanitizeLine(v->dump(-1, ' ', false, Json::error_handler_t::replace), max_chars);
}

std::string RenderTable(const Json& items, const std::vector<Column>& columns) {
  std::vector<std::vector<std::string>> rows;
  rows.emplace_back();
  for (const auto& c : columns) {
    rows.back().push_back(c.header);
  }
  if (items.is_array()) {
    for (const Json& item : items) {
      rows.emplace_back();
      for (const auto& c : columns) {
        std::string cell =
            c.format ? SanitizeLine(c.format(item), 48) : Display(Lookup(item, c.path), 48);
        rows.back().push_back(cell.empty() ? "-" : std::move(cell));
      }
    }
  }
  std::vector<size_t> widths(columns.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line.append(widths[i] - DisplayWidth(row[i]) + 2, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line;
    out += '\n';
  }
  return out;
}

std::string RenderKeyValues(const Json& obj, const std::vector<std::string>& first,
                            const std::vector<std::string>& skip) {
  std::vector<std::pair<std::string, std::string>> lines;
  auto listed = [](const std::vector<std::string>& keys, const std::string& k) {
    return std::find(keys.begin(), keys.end(), k) != keys.end();
  };
  if (obj.is_object()) {
    for (const auto& k : first) {
      auto it = obj.find(k);
      if (it != obj.end() && !listed(skip, k)) {
        Flatten(*it, k, lines);
      }
    }
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (listed(skip, it.key()) || listed(first, it.key())) {
        continue;
      }
      Flatten(it.value(), it.key(), lines);
    }
  } else {
    lines.emplace_back("value", Display(&obj, 200));
  }
  size_t width = 0;
  for (const auto& [k, v] : lines) {
    width = std::max(width, DisplayWidth(k));
  }
  std::string out;
  for (const auto& [k, v] : lines) {
    out += k;
    out += ':';
    if (!v.empty()) {
      out.append(width - DisplayWidth(k) + 1, ' ');
      out += v;
    }
    out += '\n';
  }
  return out;
}

}  // namespace vigil::cli
