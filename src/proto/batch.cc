#include "proto/batch.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "core/json.h"
#include "core/strings.h"

namespace vigil::proto {
namespace {

using json::Json;
using json::Text;

// Decoding stops collecting errors (and reading observations) after this many.
constexpr size_t kMaxErrors = 100;
constexpr size_t kMaxTargetLength = 1024;
constexpr size_t kMaxTimeLength = 64;
constexpr std::string_view kNameChars = "._-:/@+=%#";
constexpr std::string_view kNameRule = "may only contain letters, digits and ._-:/@+=%#";

const std::vector<std::string_view>& StatusNames() {
  static const std::vector<std::string_view> names = {"ok", "warning", "critical", "unknown"};
  return names;
}

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

// The fields of one JSON object: an ObjectReader for what it can read, plus raw access to the
// fields it has no reader for (arrays, numbers, uint64). Errors go to a shared list with full
// paths; unknown fields are refused.
class Fields {
 public:
  Fields(const Json& j, const std::string& path, std::vector<FieldError>& errors)
      : j_(j), prefix_(path.empty() ? "" : path + "."), r_(j, prefix_), errors_(errors) {}

  bool is_object() const { return j_.is_object(); }
  json::ObjectReader& r() { return r_; }
  std::string Path(std::string_view name) const { return prefix_ + std::string(name); }

  // The field `name` for the caller to read itself; nullptr when absent.
  const Json* Raw(std::string_view name) { return r_.Raw(name); }

  // Like Raw, recording "is required" when absent.
  const Json* Required(std::string_view name) {
    const Json* v = Raw(name);
    if (v == nullptr && j_.is_object()) {
      Error(name, "is required");
    }
    return v;
  }

  void Error(std::string_view name, std::string detail) {
    errors_.push_back({Path(name), std::move(detail)});
  }

  // A uint64 in [1, 2^64 - 1].
  std::optional<uint64_t> Sequence(std::string_view name) {
    const Json* v = Required(name);
    if (v == nullptr) {
      return std::nullopt;
    }
    if (v->is_number_unsigned() && v->get<uint64_t>() >= 1) {
      return v->get<uint64_t>();
    }
    if (v->is_number()) {
      Error(name, fmt::format("must be an integer from 1 to {}", UINT64_MAX));
    } else {
      Error(name, fmt::format("must be an integer, not {}", json::TypeName(*v)));
    }
    return std::nullopt;
  }

  // A finite number; when `nullable`, absent or null reads as nullopt without error.
  std::optional<double> Number(std::string_view name, bool nullable) {
    const Json* v = nullable ? Raw(name) : Required(name);
    if (v == nullptr || (nullable && v->is_null())) {
      return std::nullopt;
    }
    if (!v->is_number()) {
      Error(name, fmt::format("must be a number, not {}", json::TypeName(*v)));
      return std::nullopt;
    }
    double d = v->get<double>();
    if (!std::isfinite(d)) {
      Error(name, "must be a finite number");
      return std::nullopt;
    }
    return d;
  }

  // An RFC 3339 time within the limits around `now`.
  TimePoint Time(std::string_view name, TimePoint now, const BatchLimits& limits) {
    std::string s = r_.String(name, 1, kMaxTimeLength);
    if (s.empty()) {
      return {};
    }
    auto t = vigil::ParseRfc3339(s);
    if (!t) {
      Error(name, "must be an RFC 3339 time such as 2026-11-22T19:53:03.120Z");
      return {};
    }
    if (*t > now + limits.max_future) {
      Error(name, fmt::format("is more than {} h in the future", limits.max_future.count()));
    } else if (*t < now - limits.max_past) {
      Error(name, fmt::format("is more than {} h in the past", limits.max_past.count()));
    }
    return *t;
  }

  // An array of at most `max_items`; nullptr (with an error) when it is something else.
  const Json* Array(std::string_view name, bool required, size_t max_items) {
    const Json* v = required ? Required(name) : Raw(name);
    if (v == nullptr) {
      return nullptr;
    }
    if (!v->is_array()) {
      Error(name, fmt::format("must be an array, not {}", json::TypeName(*v)));
      return nullptr;
    }
    if (v->size() > max_items) {
      Error(name, fmt::format("must have at most {} items", max_items));
      return nullptr;
    }
    return v;
  }

  // An identifier: 1..kMaxNameLength characters of the safe set.
  std::string Name(std::string_view name) {
    std::string s = r_.String(name, 1, kMaxNameLength);
    if (!s.empty() && !IsSafeName(s)) {
      Error(name, std::string(kNameRule));
      return {};
    }
    return s;
  }

  // Collects the reader's errors, refusing unknown fields.
  void Finish() {
    Status s = r_.Finish();
    errors_.insert(errors_.end(), s.field_errors().begin(), s.field_errors().end());
  }

 private:
  const Json& j_;
  std::string prefix_;
  json::ObjectReader r_;
  std::vector<FieldError>& errors_;
};

struct Decoder {
  TimePoint now;
  const BatchLimits& limits;
  const std::set<std::string>* known_checks;
  std::vector<FieldError> errors;

  bool TooManyErrors() const { return errors.size() >= kMaxErrors; }

  Metric DecodeMetric(const Json& j, const std::string& path) {
    Metric m;
    Fields f(j, path, errors);
    if (f.is_object()) {
      m.name = f.Name("name");
      m.value = f.Number("value", false).value_or(0);
      m.unit = f.r().OptString("unit", 0, kMaxUnitLength).value_or("");
      m.warn = f.Number("warn", true);
      m.crit = f.Number("crit", true);
      m.min = f.Number("min", true);
      m.max = f.Number("max", true);
    }
    f.Finish();
    return m;
  }

  void DecodeDetails(const Json& j, const std::string& path, CheckResult& r) {
    if (!j.is_object()) {
      errors.push_back({path, fmt::format("must be an object, not {}", json::TypeName(j))});
      return;
    }
    if (j.size() > limits.max_details_per_result) {
      errors.push_back(
          {path, fmt::format("must have at most {} items", limits.max_details_per_result)});
      return;
    }
    for (auto it = j.begin(); it != j.end() && !TooManyErrors(); ++it) {
      const std::string& key = it.key();
      if (key.empty() || key.size() > kMaxNameLength || !IsSafeName(key)) {
        errors.push_back({path + "." + SanitizeText(key, 64),
                          fmt::format("names of details must be 1 to {} characters and {}",
                                      kMaxNameLength, kNameRule.substr(4))});
        continue;
      }
      std::string field = path + "." + key;
      const Json& v = it.value();
      if (!v.is_string()) {
        errors.push_back({field, fmt::format("must be a string, not {}", json::TypeName(v))});
        continue;
      }
      const auto& s = v.get_ref<const std::string&>();
      if (!json::IsValidUtf8(s)) {
        errors.push_back({field, "must be valid UTF-8"});
        continue;
      }
      bool control = false;
      for (unsigned char c : s) {
        if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7F) {
          control = true;
        }
      }
      if (control) {
        errors.push_back({field, "must not contain control characters"});
        continue;
      }
      if (Utf8CodePoints(s) > limits.max_text) {
        errors.push_back({field, fmt::format("must be at most {} characters", limits.max_text)});
        continue;
      }
      r.details.emplace(key, s);
    }
  }

  CheckResult DecodeResult(const Json& j, const std::string& path) {
    CheckResult r;
    Fields f(j, path, errors);
    if (f.is_object()) {
      r.check = f.Name("check");
      if (!r.check.empty() && known_checks != nullptr && known_checks->count(r.check) == 0) {
        f.Error("check", "is not a known check");
      }
      r.target = f.r().OptString("target", 0, kMaxTargetLength).value_or("");
      std::string status = f.r().Enum("status", StatusNames());
      r.status = ParseCheckStatus(status).value_or(CheckStatus::kUnknown);
      r.message = f.r().OptString("message", 0, limits.max_text, Text::kMultiline).value_or("");
      if (const Json* metrics = f.Array("metrics", false, limits.max_metrics_per_result)) {
        std::set<std::string, std::less<>> names;
        for (size_t i = 0; i < metrics->size() && !TooManyErrors(); ++i) {
          std::string mpath = fmt::format("{}.metrics[{}]", path, i);
          Metric m = DecodeMetric((*metrics)[i], mpath);
          if (!m.name.empty() && !names.insert(m.name).second) {
            errors.push_back({mpath + ".name", "is a duplicate"});
          }
          r.metrics.push_back(std::move(m));
        }
      }
      if (const Json* details = f.Raw("details")) {
        DecodeDetails(*details, f.Path("details"), r);
      }
    }
    f.Finish();
    return r;
  }

  Observation DecodeObservation(const Json& j, const std::string& path) {
    Observation o;
    Fields f(j, path, errors);
    if (f.is_object()) {
      o.observed_at = f.Time("observed_at", now, limits);
      if (const Json* result = f.Required("result")) {
        o.result = DecodeResult(*result, f.Path("result"));
      }
    }
    f.Finish();
    return o;
  }

  Gap DecodeGap(const Json& j, const std::string& path, uint64_t sequence) {
    Gap g;
    Fields f(j, path, errors);
    if (f.is_object()) {
      auto first = f.Sequence("first_sequence");
      auto last = f.Sequence("last_sequence");
      if (first && last) {
        g = {*first, *last};
        if (*last < *first) {
          f.Error("last_sequence", "must not be less than first_sequence");
        } else if (sequence != 0 && *last >= sequence) {
          f.Error("last_sequence", "must be less than the batch's sequence");
        }
      }
    }
    f.Finish();
    return g;
  }

  Result<Batch> DecodeRoot(const Json& j) {
    Batch b;
    Fields f(j, "", errors);
    if (f.is_object()) {
      auto version =
          f.r().OptInt("version", std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
      if (!f.r().Has("version")) {
        f.Error("version", "is required");
      } else if (version && *version != kBatchVersion) {
        f.Error("version", fmt::format("version {} is not supported (this server reads version {})",
                                       *version, kBatchVersion));
      }
      b.agent_version = f.r().String("agent_version", 1, kMaxAgentVersionLength);
      b.sequence = f.Sequence("sequence").value_or(0);
      b.sent_at = f.Time("sent_at", now, limits);
      if (const Json* gaps = f.Array("gaps", false, limits.max_gaps)) {
        for (size_t i = 0; i < gaps->size() && !TooManyErrors(); ++i) {
          b.gaps.push_back(DecodeGap((*gaps)[i], fmt::format("gaps[{}]", i), b.sequence));
        }
      }
      if (const Json* obs = f.Array("observations", true, limits.max_observations)) {
        b.observations.reserve(obs->size());
        for (size_t i = 0; i < obs->size() && !TooManyErrors(); ++i) {
          b.observations.push_back(
              DecodeObservation((*obs)[i], fmt::format("observations[{}]", i)));
        }
      }
    }
    f.Finish();
    if (errors.empty()) {
      return b;
    }
    return FieldsInvalid(std::move(errors));
  }
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
  VIGIL_ASSIGN_OR_RETURN(Json j,
                         json::Parse(text, {.max_bytes = limits.max_bytes, .max_depth = 8}));
  Decoder d{now, limits, known_checks, {}};
  return d.DecodeRoot(j);
}

}  // namespace vigil::proto
