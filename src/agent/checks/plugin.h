#pragma once

// Parser of monitoring-plugin output (Nagios / Icinga / Monitoring Plugins development
// guidelines), for the agent's `plugin` check that runs a configured plugin and reports what it
// printed:
//
//   TEXT OUTPUT | OPTIONAL PERFDATA
//   LONG TEXT LINE 1
//   ...
//   LONG TEXT LINE N | PERFDATA LINE 2
//   PERFDATA LINE 3
//
// Performance data: space-separated "label=value[UOM];[warn];[crit];[min];[max]"; labels may be
// quoted with single quotes (then they may hold spaces and '=', and '' stands for one quote).
//
// The plugin's output is untrusted: everything is bounded, nothing throws or aborts, and every
// string in the result is valid UTF-8 (invalid bytes become U+FFFD, control characters spaces).
//
// Thread safety: a pure function; call from any thread.

#include <cstddef>
#include <string>
#include <string_view>

#include "proto/check.h"

namespace vigil::checks {

inline constexpr size_t kMaxPluginOutputBytes = 64 * 1024;   // the rest is ignored (Nagios 4's cap)
inline constexpr size_t kMaxPluginMetrics = 100;             // further metrics are dropped
inline constexpr size_t kMaxPluginMessageBytes = 1024;       // the first line, cut at a code point
inline constexpr size_t kMaxPluginLongTextBytes = 8 * 1024;  // details["long_text"]
inline constexpr size_t kMaxPluginLabelBytes = 128;          // longer labels drop the metric

// The `plugin` check's result for the plugin `name` (→ CheckResult::target):
//   status: exit code 0/1/2/3 → ok/warning/critical/unknown, anything else (126, 127, a signal
//     as 128+n, negative) → unknown, with "exit code N" in the message;
//   message: the first line up to '|', trimmed; "(no output)" when empty;
//   metrics: perfdata from the first line and the perfdata lines, in order, at most
//     kMaxPluginMetrics. name = the label, unit = the UOM (s ms us % B KB MB GB TB c, or any other
//     short alphabetic UOM as printed, e.g. KiB), warn/crit from the thresholds (for a range
//     "[@]start:end" the end when there is one, else the start; "~" and empty parts are skipped),
//     min/max when numeric. A value of "U" (unknown) or a malformed entry is skipped and counted in
//     details["perfdata_errors"];
//   details: "long_text" (the long text lines), "exit_code", "perfdata_errors", "truncated".
proto::CheckResult ParsePluginOutput(int exit_code, std::string_view stdout_text, std::string name);

}  // namespace vigil::checks
