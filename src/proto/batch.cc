#include "proto/batch.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "core/json.h"
#include "core/json_reader.h"
#include "core/strings.h"

namespace vigil::proto {
namespace {

using json::Json;

// Decoding stops collecting errors (and reading observations) after this many.
constexpr size_t kMaxErrors = 100;
constexpr size_t kMaxTargetLength = 1024;
constexpr size_t kMaxTimeLength = 64;
constexpr std::string_view kNameChars = "._-:/@+=%#";
constexpr std::string_view kNameRule = "may only contain letters, digits and ._-:/@+=%#";

// ---------------------------------------------------------------------------------------------
// Encoding

// `s` as text DecodeBatch accepts; unchanged when it already is.
std::string CleanText(std::string_view s, bool one_line, size_t max_chars) {
  std::string clean = SanitizeText(s, std::numeric_limits<size_t>::max(), one_line);
  if (Utf8CodePoints(clean) <= max_chars) {
    return clean;
  }
  // SanitizeText may overshoot its budget by one code point plus "...": keep clear of max_chars.
  return SanitizeText(clean, max_chars > 8 ? max_chars - 8 : 0, one_line);
}

Json Threshold(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) {
    return nullptr;
  }
  return *v;
}

Json EncodeResult(const CheckResult& r, size_t max_text) {
  Json metrics = Json::array();
  for (const Metric& m : r.metrics) {
    if (!std::isfinite(m.value)) {
      continue;
    }
    metrics.push_back({{"name", m.name},
                       {"value", m.value},
                       {"unit", CleanText(m.unit, true, kMaxUnitLength)},
                       {"warn", Threshold(m.warn)},
                       {"crit", Threshold(m.crit)},
                       {"min", Threshold(m.min)},
                       {"max", Threshold(m.max)}});
  }
  Json details = Json::object();
  for (const auto& [k, v] : r.details) {
    details[k] = CleanText(v, false, max_text);
  }
  return {{"check", r.check},
          {"target", CleanText(r.target, true, kMaxTargetLength)},
          {"status", std::string(CheckStatusName(r.status))},
          {"message", CleanText(r.message, false, max_text)},
          {"metrics", std::move(metrics)},
          {"details", std::move(details)}};
}

// ---------------------------------------------------------------------------------------------
// Decoding

bool IsSafeName(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              kNameChars.find(c) != std::string_view::npos;
    if (!ok) {
      return false;
    }
  }
  return true;
}

// The path of a field, e.g. "observations[3].result.metrics[0].value", spelled out only when an
// error names it (the happy path allocates nothing for paths).
struct Path {
  const Path* parent = nullptr;
  std::string_view name;  // a member's name; unused for an array element
  size_t index = 0;
  bool is_index = false;

  Path Member(std::string_view member) const { return Path{this, member, 0, false}; }
  Path Element(size_t i) const { return Path{this, {}, i, true}; }

  std::string str() const {
    std::string head = parent != nullptr ? parent->str() : std::string();
    if (is_index) {
      return fmt::format("{}[{}]", head, index);
    }
    return head.empty() ? std::string(name) : head + "." + std::string(name);
  }
};

using Type = json::Reader::Type;

// Decodes a batch value by value from a json::Reader (no tree). Every wrong field is recorded
// with its path and its value skipped, so one 400 names every problem (up to kMaxErrors);
// unknown and repeated members are errors. A syntax error anywhere wins over field errors.
class Decoder {
 public:
  Decoder(json::Reader& in, TimePoint now, const BatchLimits& limits,
          const std::set<std::string>* known_checks)
      : in_(in), now_(now), limits_(limits), known_checks_(known_checks) {}

  Result<Batch> Run() {
    Batch b = DecodeRoot();
    VIGIL_RETURN_IF_ERROR(in_.Finish());
    if (errors_.empty()) {
      return b;
    }
    return FieldsInvalid(std::move(errors_));
  }

 private:
  void Error(const Path& p, std::string detail) {
    if (errors_.size() < kMaxErrors) {
      errors_.push_back({p.str(), std::move(detail)});
    }
  }
  void Error(std::string path, std::string detail) {
    if (errors_.size() < kMaxErrors) {
      errors_.push_back({std::move(path), std::move(detail)});
    }
  }
  bool TooManyErrors() const { return errors_.size() >= kMaxErrors; }

  // Records "must be WHAT, not TYPE" and skips the value.
  void WrongType(const Path& p, std::string_view what) {
    Error(p, fmt::format("must be {}, not {}", what, json::TypeName(in_.Peek())));
    in_.Skip();
  }

  // Reads the members of the object at `p`: `member(i, path)` reads the value of names[i].
  // Unknown and repeated members are errors; `required` names the indexes that must be present.
  // Returns false when the value is not an object (recorded, skipped).
  template <size_t N, class F>
  bool Object(const Path& p, const std::array<std::string_view, N>& names, uint32_t required,
              F&& member) {
    static_assert(N <= 32);
    if (in_.Peek() != Type::kObject) {
      Error(p.parent == nullptr ? std::string("(body)") : p.str(), "must be a JSON object");
      in_.Skip();
      return false;
    }
    in_.BeginObject();
    uint32_t seen = 0;
    while (in_.NextMember()) {
      const std::string& key = in_.key();
      size_t i = 0;
      while (i < N && names[i] != key) {
        ++i;
      }
      if (i == N) {
        std::string name = SanitizeText(in_.key(), 64);
        Error(p.parent == nullptr ? name : p.str() + "." + name, "is not a known field");
        in_.Skip();
        continue;
      }
      Path field = p.Member(names[i]);
      if ((seen & (1u << i)) != 0) {
        Error(field, "is a duplicate");
        in_.Skip();
        continue;
      }
      seen |= 1u << i;
      member(i, field);
    }
    for (size_t i = 0; i < N; ++i) {
      if ((required & (1u << i)) != 0 && (seen & (1u << i)) == 0) {
        Error(p.Member(names[i]), "is required");
      }
    }
    return true;
  }

  // The elements of the array at `p`, at most `max_items` (past that: one error, the rest is
  // skipped). `element(i, path)` reads one.
  template <class F>
  void Array(const Path& p, size_t max_items, F&& element) {
    if (in_.Peek() != Type::kArray) {
      WrongType(p, "an array");
      return;
    }
    in_.BeginArray();
    size_t i = 0;
    while (in_.NextElement()) {
      if (i == max_items) {
        Error(p, fmt::format("must have at most {} items", max_items));
      }
      if (i >= max_items || TooManyErrors()) {
        in_.Skip();
      } else {
        element(i, p.Element(i));
      }
      ++i;
    }
  }

  // A string within the rules of json::TextError, into `out`; false (recorded) when it is not.
  bool TextInto(const Path& p, std::string& out, size_t min_len, size_t max_len,
                json::Text text = json::Text::kLine) {
    if (in_.Peek() != Type::kString) {
      WrongType(p, "a string");
      return false;
    }
    if (!in_.StringInto(out)) {
      return false;
    }
    if (auto error = json::TextError(out, min_len, max_len, text)) {
      Error(p, std::move(*error));
      return false;
    }
    return true;
  }

  std::optional<std::string> Text(const Path& p, size_t min_len, size_t max_len,
                                  json::Text text = json::Text::kLine) {
    std::string s;
    if (!TextInto(p, s, min_len, max_len, text)) {
      return std::nullopt;
    }
    return s;
  }

  // An identifier: 1..kMaxNameLength characters of the safe set.
  std::string Name(const Path& p) {
    std::string s = Text(p, 1, kMaxNameLength).value_or("");
    if (!s.empty() && !IsSafeName(s)) {
      Error(p, std::string(kNameRule));
      return {};
    }
    return s;
  }

  // A finite number; null reads as nullopt when `nullable`.
  std::optional<double> Number(const Path& p, bool nullable) {
    Type t = in_.Peek();
    if (nullable && t == Type::kNull) {
      in_.Null();
      return std::nullopt;
    }
    if (t != Type::kInteger && t != Type::kNumber) {
      WrongType(p, "a number");
      return std::nullopt;
    }
    auto n = in_.ReadNumber();  // the reader refuses numbers out of double's range
    return n ? std::optional<double>(n->value) : std::nullopt;
  }

  // A uint64 in [1, 2^64 - 1].
  std::optional<uint64_t> Sequence(const Path& p) {
    Type t = in_.Peek();
    if (t != Type::kInteger && t != Type::kNumber) {
      WrongType(p, "an integer");
      return std::nullopt;
    }
    auto n = in_.ReadNumber();
    if (n && n->integer && !n->negative && n->as_unsigned >= 1) {
      return n->as_unsigned;
    }
    Error(p, fmt::format("must be an integer from 1 to {}", UINT64_MAX));
    return std::nullopt;
  }

  // An RFC 3339 time within the limits around now.
  TimePoint Time(const Path& p) {
    if (!TextInto(p, scratch_, 1, kMaxTimeLength)) {
      return {};
    }
    auto t = vigil::ParseRfc3339(scratch_);
    if (!t) {
      Error(p, "must be an RFC 3339 time such as 2026-11-22T19:53:03.120Z");
      return {};
    }
    if (*t > now_ + limits_.max_future) {
      Error(p, fmt::format("is more than {} h in the future", limits_.max_future.count()));
    } else if (*t < now_ - limits_.max_past) {
      Error(p, fmt::format("is more than {} h in the past", limits_.max_past.count()));
    }
    return *t;
  }

  Metric DecodeMetric(const Path& p) {
    static constexpr std::array<std::string_view, 7> kNames = {"name", "value", "unit", "warn",
                                                               "crit", "min",   "max"};
    Metric m;
    Object(p, kNames, 0b11, [&](size_t i, const Path& f) {
      switch (i) {
        case 0:
          m.name = Name(f);
          break;
        case 1:
          m.value = Number(f, false).value_or(0);
          break;
        case 2:
          m.unit = Text(f, 0, kMaxUnitLength).value_or("");
          break;
        case 3:
          m.warn = Number(f, true);
          break;
        case 4:
          m.crit = Number(f, true);
          break;
        case 5:
          m.min = Number(f, true);
          break;
        default:
          m.max = Number(f, true);
      }
    });
    return m;
  }

  void DecodeDetails(const Path& p, CheckResult& r) {
    if (in_.Peek() != Type::kObject) {
      WrongType(p, "an object");
      return;
    }
    in_.BeginObject();
    size_t count = 0;
    while (in_.NextMember()) {
      if (++count > limits_.max_details_per_result || TooManyErrors()) {
        if (count == limits_.max_details_per_result + 1) {
          Error(p, fmt::format("must have at most {} items", limits_.max_details_per_result));
        }
        in_.Skip();
        continue;
      }
      std::string key = in_.key();
      if (key.empty() || key.size() > kMaxNameLength || !IsSafeName(key)) {
        Error(p.str() + "." + SanitizeText(key, 64),
              fmt::format("names of details must be 1 to {} characters and {}", kMaxNameLength,
                          kNameRule.substr(4)));
        in_.Skip();
        continue;
      }
      Path field = p.Member(key);
      auto value = Text(field, 0, limits_.max_text, json::Text::kMultiline);
      if (value && !r.details.emplace(std::move(key), std::move(*value)).second) {
        Error(field, "is a duplicate");
      }
    }
  }

  // Each repeated metric name is an error at its later position (sorted copy of the names: one
  // allocation per result, not one per metric).
  void DuplicateMetricNames(const Path& p, const std::vector<Metric>& metrics) {
    if (metrics.size() < 2) {
      return;
    }
    std::vector<std::pair<std::string_view, size_t>> names;
    names.reserve(metrics.size());
    for (size_t i = 0; i < metrics.size(); ++i) {
      if (!metrics[i].name.empty()) {
        names.emplace_back(metrics[i].name, i);
      }
    }
    std::sort(names.begin(), names.end());
    for (size_t k = 1; k < names.size(); ++k) {
      if (names[k].first == names[k - 1].first) {
        Error(p.Element(names[k].second).Member("name"), "is a duplicate");
      }
    }
  }

  CheckResult DecodeResult(const Path& p) {
    static constexpr std::array<std::string_view, 6> kNames = {"check",   "target",  "status",
                                                               "message", "metrics", "details"};
    CheckResult r;
    Object(p, kNames, 0b101, [&](size_t i, const Path& f) {
      switch (i) {
        case 0:
          r.check = Name(f);
          if (!r.check.empty() && known_checks_ != nullptr && known_checks_->count(r.check) == 0) {
            Error(f, "is not a known check");
          }
          break;
        case 1:
          r.target = Text(f, 0, kMaxTargetLength).value_or("");
          break;
        case 2: {
          std::optional<CheckStatus> status;
          if (in_.Peek() == Type::kString) {
            status = ParseCheckStatus(in_.String().value_or(""));
          } else {
            in_.Skip();
          }
          if (!status) {
            Error(f, "must be one of: ok, warning, critical, unknown");
          }
          r.status = status.value_or(CheckStatus::kUnknown);
          break;
        }
        case 3:
          r.message = Text(f, 0, limits_.max_text, json::Text::kMultiline).value_or("");
          break;
        case 4:
          Array(f, limits_.max_metrics_per_result,
                [&](size_t, const Path& mp) { r.metrics.push_back(DecodeMetric(mp)); });
          DuplicateMetricNames(f, r.metrics);
          break;
        default:
          DecodeDetails(f, r);
      }
    });
    return r;
  }

  Observation DecodeObservation(const Path& p) {
    static constexpr std::array<std::string_view, 2> kNames = {"observed_at", "result"};
    Observation o;
    Object(p, kNames, 0b11, [&](size_t i, const Path& f) {
      if (i == 0) {
        o.observed_at = Time(f);
      } else {
        o.result = DecodeResult(f);
      }
    });
    return o;
  }

  Gap DecodeGap(const Path& p) {
    static constexpr std::array<std::string_view, 2> kNames = {"first_sequence", "last_sequence"};
    std::optional<uint64_t> first;
    std::optional<uint64_t> last;
    Object(p, kNames, 0b11,
           [&](size_t i, const Path& f) { (i == 0 ? first : last) = Sequence(f); });
    if (first && last) {
      if (*last < *first) {
        Error(p.Member("last_sequence"), "must not be less than first_sequence");
        return {};
      }
      return {*first, *last};
    }
    return {};
  }

  void DecodeVersion(const Path& p) {
    Type t = in_.Peek();
    if (t != Type::kInteger && t != Type::kNumber) {
      WrongType(p, "an integer");
      return;
    }
    auto n = in_.ReadNumber();
    if (!n) {
      return;
    }
    constexpr int64_t kMin = std::numeric_limits<int>::min();
    constexpr int64_t kMax = std::numeric_limits<int>::max();
    bool in_range = n->integer && (n->negative ? n->as_signed >= kMin : n->as_unsigned <= kMax);
    if (!in_range) {
      Error(p, fmt::format("must be an integer between {} and {}", kMin, kMax));
    } else if (n->as_signed != kBatchVersion) {
      Error(p, fmt::format("version {} is not supported (this server reads version {})",
                           n->as_signed, kBatchVersion));
    }
  }

  Batch DecodeRoot() {
    static constexpr std::array<std::string_view, 6> kNames = {
        "version", "agent_version", "sequence", "sent_at", "observations", "gaps"};
    Batch b;
    // Gaps are checked against the batch's sequence once the whole object is read (its members
    // may come in any order).
    std::vector<std::pair<Gap, size_t>> gaps;
    const Path root;
    Object(root, kNames, 0b11111, [&](size_t i, const Path& f) {
      switch (i) {
        case 0:
          DecodeVersion(f);
          break;
        case 1:
          b.agent_version = Text(f, 1, kMaxAgentVersionLength).value_or("");
          break;
        case 2:
          b.sequence = Sequence(f).value_or(0);
          break;
        case 3:
          b.sent_at = Time(f);
          break;
        case 4:
          b.observations.reserve(256);
          Array(f, limits_.max_observations,
                [&](size_t, const Path& o) { b.observations.push_back(DecodeObservation(o)); });
          break;
        default:
          Array(f, limits_.max_gaps,
                [&](size_t g, const Path& gp) { gaps.emplace_back(DecodeGap(gp), g); });
      }
    });
    for (const auto& [g, index] : gaps) {
      if (g.last_sequence != 0 && b.sequence != 0 && g.last_sequence >= b.sequence) {
        Error(fmt::format("gaps[{}].last_sequence", index),
              "must be less than the batch's sequence");
      }
      b.gaps.push_back(g);
    }
    return b;
  }

  json::Reader& in_;
  std::string scratch_;  // text read only to be parsed (times)
  TimePoint now_;
  const BatchLimits& limits_;
  const std::set<std::string>* known_checks_;
  std::vector<FieldError> errors_;
};

}  // namespace

std::string EncodeBatch(const Batch& batch) {
  const size_t max_text = BatchLimits{}.max_text;
  Json observations = Json::array();
  for (const Observation& o : batch.observations) {
    observations.push_back({{"observed_at", FormatRfc3339(o.observed_at)},
                            {"result", EncodeResult(o.result, max_text)}});
  }
  Json gaps = Json::array();
  for (const Gap& g : batch.gaps) {
    gaps.push_back({{"first_sequence", g.first_sequence}, {"last_sequence", g.last_sequence}});
  }
  Json j = {{"version", kBatchVersion},
            {"agent_version", batch.agent_version.empty()
                                  ? std::string("unknown")
                                  : CleanText(batch.agent_version, true, kMaxAgentVersionLength)},
            {"sequence", batch.sequence},
            {"sent_at", FormatRfc3339(batch.sent_at)},
            {"observations", std::move(observations)},
            {"gaps", std::move(gaps)}};
  // Identifiers are written as given; `replace` keeps dump() from throwing on invalid UTF-8.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string EncodeCheckResult(const CheckResult& result) {
  return EncodeResult(result, BatchLimits{}.max_text)
      .dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<Batch> DecodeBatch(std::string_view text, TimePoint now, const BatchLimits& limits,
                          const std::set<std::string>* known_checks) {
  // Depth of a batch: root, observations, observation, result, metrics, metric.
  json::Reader in(text, {.max_bytes = limits.max_bytes, .max_depth = 8});
  return Decoder(in, now, limits, known_checks).Run();
}

}  // namespace vigil::proto
