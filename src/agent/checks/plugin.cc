#include "agent/checks/plugin.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/strings.h"

namespace vigil::checks {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Parses a number at the start of `s`; returns it and how many bytes it used (0: none).
std::pair<double, size_t> NumberPrefix(std::string_view s) {
  size_t skip = (!s.empty() && s.front() == '+') ? 1 : 0;
  if (skip == 1 && s.size() > 1 && s[1] == '-') {
    return {0, 0};
  }
  double v = 0;
  const char* begin = s.data() + skip;
  auto [p, ec] = std::from_chars(begin, s.data() + s.size(), v, std::chars_format::general);
  if (ec != std::errc() || !std::isfinite(v)) {
    return {0, 0};
  }
  return {v, static_cast<size_t>(p - s.data())};
}

std::optional<double> WholeNumber(std::string_view s) {
  if (s.empty()) {
    return std::nullopt;
  }
  auto [v, used] = NumberPrefix(s);
  if (used == 0 || used != s.size()) {
    return std::nullopt;
  }
  return v;
}

// A threshold "[@][start:]end": the end when there is one, else the start. "~" is -infinity.
std::optional<double> Threshold(std::string_view s) {
  if (!s.empty() && s.front() == '@') {
    s.remove_prefix(1);
  }
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) {
    return WholeNumber(s);
  }
  if (auto end = WholeNumber(s.substr(colon + 1))) {
    return end;
  }
  return WholeNumber(s.substr(0, colon));  // "10:" (alert below 10); "~:" gives nothing
}

bool ValidUom(std::string_view u) {
  if (u.size() > 8) {
    return false;
  }
  for (char c : u) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '%')) {
      return false;
    }
  }
  return true;
}

class PerfdataParser {
 public:
  explicit PerfdataParser(std::vector<proto::Metric>& out) : out_(out) {}

  void Parse(std::string_view s) {
    size_t i = 0;
    while (true) {
      while (i < s.size() && IsSpace(s[i])) {
        ++i;
      }
      if (i >= s.size()) {
        return;
      }
      std::string label;
      if (s[i] == '\'') {
        ++i;
        bool closed = false;
        while (i < s.size()) {
          if (s[i] == '\'') {
            if (i + 1 < s.size() && s[i + 1] == '\'') {
              label.push_back('\'');
              i += 2;
              continue;
            }
            ++i;
            closed = true;
            break;
          }
          label.push_back(s[i++]);
        }
        if (!closed) {
          ++errors_;  // an unterminated quote swallows the rest
          return;
        }
      } else {
        while (i < s.size() && s[i] != '=' && !IsSpace(s[i])) {
          label.push_back(s[i++]);
        }
      }
      if (i >= s.size() || s[i] != '=') {
        ++errors_;
        SkipToken(s, i);
        continue;
      }
      ++i;
      size_t start = i;
      SkipToken(s, i);
      AddMetric(label, s.substr(start, i - start));
    }
  }

  int errors() const { return errors_; }
  bool dropped() const { return dropped_; }

 private:
  static void SkipToken(std::string_view s, size_t& i) {
    while (i < s.size() && !IsSpace(s[i])) {
      ++i;
    }
  }

  void AddMetric(std::string_view label, std::string_view value) {
    if (label.empty() || label.size() > kMaxPluginLabelBytes) {
      ++errors_;
      return;
    }
    std::vector<std::string_view> parts;
    while (parts.size() < 5) {
      size_t semi = value.find(';');
      parts.push_back(value.substr(0, semi));
      if (semi == std::string_view::npos) {
        break;
      }
      value.remove_prefix(semi + 1);
    }
    if (parts[0] == "U") {
      return;  // "undetermined": a legitimate value without a number
    }
    auto [v, used] = NumberPrefix(parts[0]);
    std::string_view uom = parts[0].substr(used);
    if (used == 0 || !ValidUom(uom)) {
      ++errors_;
      return;
    }
    if (out_.size() >= kMaxPluginMetrics) {
      dropped_ = true;
      return;
    }
    proto::Metric m;
    m.name = SanitizeText(label, kMaxPluginLabelBytes);
    m.value = v;
    m.unit = std::string(uom);
    if (parts.size() > 1) {
      m.warn = Threshold(parts[1]);
    }
    if (parts.size() > 2) {
      m.crit = Threshold(parts[2]);
    }
    if (parts.size() > 3) {
      m.min = WholeNumber(parts[3]);
    }
    if (parts.size() > 4) {
      m.max = WholeNumber(parts[4]);
    }
    out_.push_back(std::move(m));
  }

  std::vector<proto::Metric>& out_;
  int errors_ = 0;
  bool dropped_ = false;
};

}  // namespace

proto::CheckResult ParsePluginOutput(int exit_code, std::string_view text, std::string name) {
  proto::CheckResult r;
  r.check = "plugin";
  r.target = std::move(name);
  bool truncated = false;
  if (text.size() > kMaxPluginOutputBytes) {
    text = text.substr(0, kMaxPluginOutputBytes);
    truncated = true;
  }
  switch (exit_code) {
    case 0:
      r.status = proto::CheckStatus::kOk;
      break;
    case 1:
      r.status = proto::CheckStatus::kWarning;
      break;
    case 2:
      r.status = proto::CheckStatus::kCritical;
      break;
    default:
      r.status = proto::CheckStatus::kUnknown;
      break;
  }
  r.details["exit_code"] = std::to_string(exit_code);

  PerfdataParser perf(r.metrics);
  std::string long_text;
  bool in_perf_lines = false;
  bool first = true;
  std::string_view first_text;
  while (!text.empty() || first) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (first) {
      first = false;
      size_t bar = line.find('|');
      first_text = line.substr(0, bar);
      if (bar != std::string_view::npos) {
        perf.Parse(line.substr(bar + 1));
      }
      continue;
    }
    if (in_perf_lines) {
      perf.Parse(line);
      continue;
    }
    size_t bar = line.find('|');
    std::string_view long_line = line.substr(0, bar);
    if (bar != std::string_view::npos) {
      in_perf_lines = true;
      perf.Parse(line.substr(bar + 1));
      long_line = TrimSpace(long_line);
    }
    if (long_text.size() < kMaxPluginLongTextBytes && !(in_perf_lines && long_line.empty())) {
      if (!long_text.empty()) {
        long_text.push_back('\n');
      }
      long_text += SanitizeText(long_line, kMaxPluginLongTextBytes - long_text.size());
    }
  }
  // Trailing empty lines of the long text carry nothing.
  while (!long_text.empty() && (long_text.back() == '\n' || long_text.back() == ' ')) {
    long_text.pop_back();
  }
  if (!long_text.empty()) {
    r.details["long_text"] = std::move(long_text);
  }

  std::string message = SanitizeText(TrimSpace(first_text), kMaxPluginMessageBytes);
  if (message.empty()) {
    message = "(no output)";
  }
  if (exit_code < 0 || exit_code > 3) {
    message = fmt::format("exit code {}: {}", exit_code, message);
  }
  r.message = std::move(message);
  if (perf.errors() > 0) {
    r.details["perfdata_errors"] = std::to_string(perf.errors());
  }
  if (truncated || perf.dropped()) {
    r.details["truncated"] = "true";
  }
  return r;
}

}  // namespace vigil::checks
