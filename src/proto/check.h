#pragma once

// A check's result as the agent produces it and the server stores it: status, a human message,
// numeric metrics (for charts and thresholds) and string details (for disk health, backups...).
// Shared by vigil-agent and vigild; the JSON codec of agent batches comes with the transport.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::proto {

enum class CheckStatus : uint8_t { kOk = 0, kWarning = 1, kCritical = 2, kUnknown = 3 };

std::string_view CheckStatusName(CheckStatus s);  // "ok", "warning", "critical", "unknown"
// The status named by CheckStatusName, or nullopt.
std::optional<CheckStatus> ParseCheckStatus(std::string_view name);
// The worse of two statuses (critical > warning > unknown > ok).
CheckStatus Worst(CheckStatus a, CheckStatus b);

struct Metric {
  std::string name;  // "disk./.used_percent", "smart.reallocated_sectors"
  double value = 0;
  std::string unit;  // "%", "s", "B", "" ...
  std::optional<double> warn;
  std::optional<double> crit;
  std::optional<double> min;
  std::optional<double> max;
  bool operator==(const Metric&) const = default;
};

struct CheckResult {
  std::string check;   // "smart", "backup", "plugin", ...
  std::string target;  // what was checked: "/dev/sda", "restic:/srv/backup", "" for the host
  CheckStatus status = CheckStatus::kUnknown;
  std::string message;  // one line for people: "reallocated sectors grew to 304"
  std::vector<Metric> metrics;
  std::map<std::string, std::string> details;  // "model" → "ST3500418AS"
};

}  // namespace vigil::proto
