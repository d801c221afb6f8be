#include "agent/checks/smart.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"

namespace vigil::checks {
namespace {

using json::Json;
using proto::CheckStatus;

// smartctl output is small (the largest real -x output seen is ~18 KB); leave ample room.
constexpr json::ParseLimits kLimits{.max_bytes = 4 << 20, .max_depth = 32};
constexpr size_t kMaxDetailBytes = 200;

// smartctl exit status bits (man smartctl, EXIT STATUS).
constexpr uint64_t kExitCommandLine = 1 << 0;
constexpr uint64_t kExitDeviceOpen = 1 << 1;
constexpr uint64_t kExitDiskFailing = 1 << 3;
constexpr uint64_t kExitPrefailBelowThreshold = 1 << 4;
constexpr uint64_t kExitPastBelowThreshold = 1 << 5;
constexpr uint64_t kExitSelfTestErrors = 1 << 7;

constexpr uint64_t kPercentageUsedWarn = 90;

// ---- checked accessors: a value of the wrong type reads as absent ----

const Json* Member(const Json* obj, std::string_view key) {
  if (obj == nullptr || !obj->is_object()) {
    return nullptr;
  }
  auto it = obj->find(key);
  return it == obj->end() ? nullptr : &*it;
}

const Json* Path(const Json* obj, std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys) {
    obj = Member(obj, k);
  }
  return obj;
}

// A non-negative integer; negative numbers, floats and other types read as absent.
std::optional<uint64_t> U64(const Json* v) {
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_number_unsigned()) {
    return v->get<uint64_t>();
  }
  if (v->is_number_integer()) {
    int64_t i = v->get<int64_t>();
    if (i >= 0) {
      return static_cast<uint64_t>(i);
    }
  }
  return std::nullopt;
}

// A signed integer (temperatures may be negative); floats and other types read as absent.
std::optional<int64_t> I64(const Json* v) {
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return static_cast<int64_t>(u);
    }
    return std::nullopt;
  }
  if (v->is_number_integer()) {
    return v->get<int64_t>();
  }
  return std::nullopt;
}

std::optional<bool> Bool(const Json* v) {
  if (v == nullptr || !v->is_boolean()) {
    return std::nullopt;
  }
  return v->get<bool>();
}

// A string, truncated to kMaxDetailBytes on a UTF-8 boundary (json::Parse validated UTF-8) and
// with control characters replaced, so it is safe for one-line details.
std::optional<std::string> Str(const Json* v) {
  if (v == nullptr || !v->is_string()) {
    return std::nullopt;
  }
  const std::string& s = v->get_ref<const std::string&>();
  size_t n = std::min(s.size(), kMaxDetailBytes);
  while (n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
    --n;
  }
  std::string out = s.substr(0, n);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      c = ' ';
    }
  }
  return out;
}

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

// ---- findings ----

struct Finding {
  CheckStatus status;
  std::string text;
};

class Verdict {
 public:
  void Add(CheckStatus status, std::string text) { findings_.push_back({status, std::move(text)}); }
  bool empty() const { return findings_.empty(); }

  CheckStatus Status() const {
    CheckStatus s = CheckStatus::kOk;
    for (const auto& f : findings_) {
      s = proto::Worst(s, f.status);
    }
    return s;
  }

  // The findings, most severe first, joined by "; ".
  std::string Message() const {
    static constexpr std::array<CheckStatus, 4> kOrder = {
        CheckStatus::kCritical, CheckStatus::kWarning, CheckStatus::kUnknown, CheckStatus::kOk};
    std::string out;
    for (CheckStatus s : kOrder) {
      for (const auto& f : findings_) {
        if (f.status != s) {
          continue;
        }
        if (!out.empty()) {
          out += "; ";
        }
        out += f.text;
      }
    }
    return out;
  }

 private:
  std::vector<Finding> findings_;
};

// One failure counter: its value now, the value before, how a level > 0 is judged, and the
// metric it is reported as.
struct CounterRule {
  std::optional<uint64_t> SmartCounters::*field;
  const char* label;         // "reallocated sectors"
  const char* metric;        // "smart.reallocated_sectors"
  CheckStatus when_nonzero;  // kOk: the level alone is not judged
  CheckStatus when_grown;
};

constexpr std::array<CounterRule, 8> kCounterRules = {{
    {&SmartCounters::pending, "pending sectors", "smart.pending_sectors", CheckStatus::kCritical,
     CheckStatus::kCritical},
    {&SmartCounters::offline_uncorrectable, "offline uncorrectable sectors",
     "smart.offline_uncorrectable", CheckStatus::kCritical, CheckStatus::kCritical},
    {&SmartCounters::reallocated, "reallocated sectors", "smart.reallocated_sectors",
     CheckStatus::kWarning, CheckStatus::kCritical},
    {&SmartCounters::reported_uncorrect, "reported uncorrectable errors",
     "smart.reported_uncorrect", CheckStatus::kWarning, CheckStatus::kCritical},
    {&SmartCounters::media_errors, "NVMe media errors", "smart.media_errors", CheckStatus::kWarning,
     CheckStatus::kCritical},
    {&SmartCounters::grown_defects, "SCSI grown defects", "smart.grown_defects",
     CheckStatus::kWarning, CheckStatus::kCritical},
    {&SmartCounters::scsi_uncorrected, "SCSI uncorrected errors", "smart.scsi_uncorrected_errors",
     CheckStatus::kWarning, CheckStatus::kCritical},
    // Command timeouts mostly reflect cabling, power or controller resets, and healthy disks carry
    // them (Micron 5300: 8-33; Seagate: a few): only their growth is reported.
    {&SmartCounters::command_timeout, "command timeouts", "smart.command_timeout", CheckStatus::kOk,
     CheckStatus::kWarning},
}};

std::string NvmeCriticalWarningText(uint64_t cw) {
  static constexpr std::array<const char*, 6> kBits = {
      "available spare below threshold",    "temperature outside thresholds",
      "NVM subsystem reliability degraded", "media placed in read-only mode",
      "volatile memory backup failed",      "persistent memory region unreliable",
  };
  std::string names;
  for (int bit = 0; bit < 64; ++bit) {
    if ((cw & (uint64_t{1} << bit)) == 0) {
      continue;
    }
    if (!names.empty()) {
      names += ", ";
    }
    names += bit < static_cast<int>(kBits.size()) ? std::string(kBits[bit])
                                                  : fmt::format("reserved bit {}", bit);
  }
  return fmt::format("NVMe critical warning 0x{:02x}: {}", cw, names);
}

void AddMetric(proto::CheckResult& r, std::string name, double value, std::string unit,
               std::optional<double> warn = std::nullopt,
               std::optional<double> crit = std::nullopt) {
  proto::Metric m;
  m.name = std::move(name);
  m.value = value;
  m.unit = std::move(unit);
  m.warn = warn;
  m.crit = crit;
  r.metrics.push_back(std::move(m));
}

// Reads the ATA attribute table into `c`; returns true when the table was usable. Also records
// attributes whose normalized value is (or was) at or below their threshold.
bool ReadAtaAttributes(const Json& root, SmartCounters& c, Verdict& v) {
  const Json* table = Path(&root, {"ata_smart_attributes", "table"});
  if (table == nullptr || !table->is_array()) {
    return false;
  }
  bool any = false;
  for (const Json& attr : *table) {
    std::optional<uint64_t> id = U64(Member(&attr, "id"));
    if (!id) {
      continue;
    }
    any = true;
    std::string name = Str(Member(&attr, "name")).value_or("");
    std::optional<std::string> when_failed = Str(Member(&attr, "when_failed"));
    if (when_failed == "now") {
      v.Add(CheckStatus::kCritical, fmt::format("attribute {} {} failing now", *id, name));
    } else if (when_failed == "past") {
      v.Add(CheckStatus::kWarning, fmt::format("attribute {} {} failed in the past", *id, name));
    }
    std::optional<uint64_t> raw = U64(Path(&attr, {"raw", "value"}));
    if (!raw) {
      continue;
    }
    std::optional<uint64_t>* slot = nullptr;
    switch (*id) {
      case 5:
        slot = &c.reallocated;
        break;
      case 187:
        slot = &c.reported_uncorrect;
        break;
      case 188:
        slot = &c.command_timeout;
        // Seagate packs three 16-bit counters; the low one is the total count of timeouts.
        *raw &= 0xFFFF;
        break;
      case 197:
        slot = &c.pending;
        break;
      case 198:
        slot = &c.offline_uncorrectable;
        break;
      default:
        break;
    }
    if (slot != nullptr && !slot->has_value()) {  // the first occurrence of an id wins
      *slot = *raw;
    }
  }
  return any;
}

// Reads the NVMe SMART/health log; returns true when it is present.
bool ReadNvme(const Json& root, SmartCounters& c, Verdict& v, proto::CheckResult& r) {
  const Json* log = Member(&root, "nvme_smart_health_information_log");
  if (log == nullptr || !log->is_object()) {
    return false;
  }
  if (std::optional<uint64_t> cw = U64(Member(log, "critical_warning")); cw && *cw != 0) {
    v.Add(CheckStatus::kCritical, NvmeCriticalWarningText(*cw));
  }
  c.media_errors = U64(Member(log, "media_errors"));

  std::optional<uint64_t> spare = U64(Member(log, "available_spare"));
  std::optional<uint64_t> spare_thresh = U64(Member(log, "available_spare_threshold"));
  if (spare && spare_thresh && *spare < *spare_thresh) {
    v.Add(CheckStatus::kCritical,
          fmt::format("available spare {}% below its threshold {}%", *spare, *spare_thresh));
  }
  if (spare) {
    AddMetric(
        r, "smart.available_spare", static_cast<double>(*spare), "%", std::nullopt,
        spare_thresh ? std::optional<double>(static_cast<double>(*spare_thresh)) : std::nullopt);
  }

  if (std::optional<uint64_t> used = U64(Member(log, "percentage_used"))) {
    if (*used >= 100) {
      v.Add(CheckStatus::kWarning,
            fmt::format("{}% of rated endurance used (past the rating)", *used));
    } else if (*used >= kPercentageUsedWarn) {
      v.Add(CheckStatus::kWarning, fmt::format("{}% of rated endurance used", *used));
    }
    AddMetric(r, "smart.percentage_used", static_cast<double>(*used), "%",
              static_cast<double>(kPercentageUsedWarn));
  }
  return true;
}

// Reads SCSI grown defects and error counter logs; returns true when either is present.
bool ReadScsi(const Json& root, SmartCounters& c) {
  c.grown_defects = U64(Member(&root, "scsi_grown_defect_list"));
  const Json* log = Member(&root, "scsi_error_counter_log");
  bool any_log = false;
  uint64_t total = 0;
  for (std::string_view kind : {"read", "write", "verify"}) {
    if (auto n = U64(Path(log, {kind, "total_uncorrected_errors"}))) {
      total = SaturatingAdd(total, *n);
      any_log = true;
    }
  }
  if (any_log) {
    c.scsi_uncorrected = total;
  }
  return c.grown_defects.has_value() || any_log;
}

void ReadTemperature(const Json& root, Verdict& v, proto::CheckResult& r) {
  const Json* t = Member(&root, "temperature");
  std::optional<int64_t> current = I64(Member(t, "current"));
  if (!current) {
    current = I64(Path(&root, {"nvme_smart_health_information_log", "temperature"}));
  }
  if (!current) {
    return;
  }
  std::optional<int64_t> op_max = I64(Member(t, "op_limit_max"));
  std::optional<int64_t> limit_max = I64(Member(t, "limit_max"));
  std::optional<int64_t> trip = I64(Member(t, "drive_trip"));
  if (trip && *trip > 0 && *current >= *trip) {
    v.Add(CheckStatus::kCritical,
          fmt::format("temperature {} C at or above the drive trip point {} C", *current, *trip));
  } else if (limit_max && *current > *limit_max) {
    v.Add(CheckStatus::kCritical,
          fmt::format("temperature {} C above the drive's limit {} C", *current, *limit_max));
  } else if (op_max && *current > *op_max) {
    v.Add(CheckStatus::kWarning, fmt::format("temperature {} C above the drive's operating limit "
                                             "{} C",
                                             *current, *op_max));
  }
  std::optional<int64_t> crit = trip && *trip > 0 ? trip : limit_max;
  AddMetric(r, "smart.temperature", static_cast<double>(*current), "C",
            op_max ? std::optional<double>(static_cast<double>(*op_max)) : std::nullopt,
            crit ? std::optional<double>(static_cast<double>(*crit)) : std::nullopt);
}

void ReadDetails(const Json& root, std::string_view protocol, proto::CheckResult& r) {
  auto set = [&r](const char* key, std::optional<std::string> value) {
    if (value && !value->empty()) {
      r.details[key] = std::move(*value);
    }
  };
  std::optional<std::string> model = Str(Member(&root, "model_name"));
  if (!model) {
    model = Str(Member(&root, "scsi_model_name"));
  }
  if (!model) {
    std::optional<std::string> vendor = Str(Member(&root, "scsi_vendor"));
    std::optional<std::string> product = Str(Member(&root, "scsi_product"));
    if (vendor && product) {
      model = *vendor + " " + *product;
    } else {
      model = product;
    }
  }
  set("model", std::move(model));
  set("model_family", Str(Member(&root, "model_family")));
  set("serial", Str(Member(&root, "serial_number")));
  std::optional<std::string> firmware = Str(Member(&root, "firmware_version"));
  if (!firmware) {
    firmware = Str(Member(&root, "scsi_revision"));
  }
  set("firmware", std::move(firmware));
  if (!protocol.empty()) {
    r.details["protocol"] = std::string(protocol);
  }
  std::optional<uint64_t> capacity = U64(Path(&root, {"user_capacity", "bytes"}));
  if (!capacity) {
    capacity = U64(Member(&root, "nvme_total_capacity"));
  }
  if (capacity) {
    r.details["capacity_bytes"] = std::to_string(*capacity);
  }
}

}  // namespace

Result<SmartReading> ParseSmartctlReading(std::string_view json_text,
                                          const SmartCounters* previous) {
  Result<Json> parsed = json::Parse(json_text, kLimits);
  if (!parsed) {
    return InvalidArgument("smartctl output is not valid JSON: " + parsed.error().message());
  }
  const Json& root = *parsed;
  if (!root.is_object()) {
    return InvalidArgument("not a smartctl report: the top level is not a JSON object");
  }
  const Json* smartctl = Member(&root, "smartctl");
  if (smartctl == nullptr || !smartctl->is_object()) {
    return InvalidArgument("not a smartctl report: no \"smartctl\" object");
  }

  SmartReading reading;
  proto::CheckResult& r = reading.result;
  SmartCounters& c = reading.counters;
  r.check = "smart";
  r.target = Str(Path(&root, {"device", "name"})).value_or("");

  std::string protocol = Str(Path(&root, {"device", "protocol"})).value_or("");
  ReadDetails(root, protocol, r);

  Verdict v;
  std::optional<uint64_t> exit_status = U64(Member(smartctl, "exit_status"));
  if (exit_status) {
    r.details["smartctl_exit_status"] = std::to_string(*exit_status);
  }
  if (exit_status && (*exit_status & (kExitCommandLine | kExitDeviceOpen)) != 0) {
    std::string why =
        fmt::format("smartctl could not read the device (exit status {})", *exit_status);
    const Json* messages = Member(smartctl, "messages");
    if (messages != nullptr && messages->is_array() && !messages->empty()) {
      if (auto text = Str(Member(&messages->front(), "string"))) {
        why += ": " + *text;
      }
    }
    r.status = CheckStatus::kUnknown;
    r.message = std::move(why);
    return reading;
  }
  if (exit_status) {
    if (*exit_status & kExitDiskFailing) {
      v.Add(CheckStatus::kCritical, "smartctl reports the disk failing (exit status bit 3)");
    }
    if (*exit_status & kExitPrefailBelowThreshold) {
      v.Add(CheckStatus::kCritical, "a pre-failure attribute is at or below its threshold");
    }
    if (*exit_status & kExitPastBelowThreshold) {
      v.Add(CheckStatus::kWarning, "an attribute was at or below its threshold in the past");
    }
    if (*exit_status & kExitSelfTestErrors) {
      v.Add(CheckStatus::kWarning, "the self-test log records errors");
    }
  }

  std::optional<bool> passed = Bool(Path(&root, {"smart_status", "passed"}));
  if (passed == false) {
    v.Add(CheckStatus::kCritical, "SMART overall-health self-assessment FAILED");
  }

  bool has_ata = ReadAtaAttributes(root, c, v);
  bool has_nvme = ReadNvme(root, c, v, r);
  bool has_scsi = ReadScsi(root, c);
  if (protocol.empty()) {
    protocol = has_nvme ? "NVMe" : has_scsi ? "SCSI" : has_ata ? "ATA" : "";
    if (!protocol.empty()) {
      r.details["protocol"] = protocol;
    }
  }

  for (const CounterRule& rule : kCounterRules) {
    const std::optional<uint64_t>& now = c.*rule.field;
    if (!now) {
      continue;
    }
    const std::optional<uint64_t>* before = previous ? &(previous->*rule.field) : nullptr;
    if (before != nullptr && before->has_value() && *now > **before) {
      v.Add(rule.when_grown, fmt::format("{} grew from {} to {}", rule.label, **before, *now));
    } else if (*now > 0 && rule.when_nonzero != CheckStatus::kOk) {
      v.Add(rule.when_nonzero, fmt::format("{} {}", *now, rule.label));
    }
    AddMetric(r, rule.metric, static_cast<double>(*now), "");
  }

  ReadTemperature(root, v, r);
  std::optional<uint64_t> hours = U64(Path(&root, {"power_on_time", "hours"}));
  if (!hours) {
    hours = U64(Path(&root, {"nvme_smart_health_information_log", "power_on_hours"}));
  }
  if (hours) {
    AddMetric(r, "smart.power_on_hours", static_cast<double>(*hours), "h");
  }

  bool has_data = passed.has_value() || has_ata || has_nvme || has_scsi;
  if (!has_data) {
    std::optional<bool> available = Bool(Path(&root, {"smart_support", "available"}));
    std::optional<bool> enabled = Bool(Path(&root, {"smart_support", "enabled"}));
    v.Add(CheckStatus::kUnknown, available == false ? "the device does not support SMART"
                                 : enabled == false ? "SMART is disabled on the device"
                                                    : "no health data in the smartctl output");
  } else if (!passed.has_value()) {
    v.Add(CheckStatus::kUnknown, "no overall SMART verdict in the smartctl output");
  }

  r.status = v.Status();
  r.message = v.empty() ? "SMART health passed" : v.Message();
  return reading;
}

Result<proto::CheckResult> ParseSmartctl(std::string_view json_text,
                                         const SmartCounters* previous) {
  VIGIL_ASSIGN_OR_RETURN(SmartReading reading, ParseSmartctlReading(json_text, previous));
  return std::move(reading.result);
}

}  // namespace vigil::checks
