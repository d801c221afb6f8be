#pragma once

// The check configuration vigild sends to an agent (GET /api/v1/agent/config), and that the
// agent reads from its state folder when it starts without a server.
//
// vigild builds it per device: the built-in default for the device's kind, overlaid by the kind's
// configured overrides, then by the device's own overrides (JSON merge patch, RFC 7396), and
// validates the result with DecodeAgentConfig before storing or sending it. So the format below is
// the one place that says what can be configured.
//
// Wire format (JSON object, every key optional except where stated; unknown keys refused):
//   {"revision": 7,                               // set by vigild; agents compare it
//    "checks": {
//      "<check name>": {"enabled": true, "interval_seconds": 60, "timeout_seconds": 30,
//                       ... check-specific keys, see AgentConfig ...}}}
// Check names: kCheckNames. Absent checks take DefaultAgentConfig(kind)'s settings.
//
// Thread safety: pure functions on values.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vigil::proto {

// Every check an agent can run, as named on the command line, in batches and in the API.
inline constexpr std::string_view kCheckNames[] = {
    "inventory", "cpu",    "memory",   "swap",     "disk",         "smart",        "updates",
    "antivirus", "backup", "firewall", "services", "certificates", "reachability", "plugin"};
bool IsCheckName(std::string_view name);

// Device kinds (set at enrollment); each has a default configuration.
inline constexpr std::string_view kDeviceKinds[] = {"server", "workstation"};
bool IsDeviceKind(std::string_view kind);

struct CheckSchedule {
  bool enabled = true;
  std::chrono::seconds interval{60};  // 10 s .. 1 day
  std::chrono::seconds timeout{30};   // 1 s .. 10 min, and below the interval
  bool operator==(const CheckSchedule&) const = default;
};

struct PercentThresholds {
  double warn = 90;  // 0..100, warn <= crit
  double crit = 95;
  bool operator==(const PercentThresholds&) const = default;
};

struct BackupSource {
  std::string tool;           // "restic", "borg" or "marker"
  std::string repository;     // restic/borg repository, or the marker file's path
  std::string password_file;  // restic/borg: file holding the password ("" = none)
  int warn_hours = 26;        // newest good backup older than this: warning
  int crit_hours = 48;        // ... critical
  bool operator==(const BackupSource&) const = default;
};

struct ReachabilityTarget {
  std::string name;     // "router", "nas"
  std::string kind;     // "ping", "tcp" or "http"
  std::string address;  // host or IP (ping, tcp), URL (http)
  int port = 0;         // tcp only
  bool operator==(const ReachabilityTarget&) const = default;
};

struct PluginSpec {
  std::string name;                  // the result's target: "load", "ntp"
  std::vector<std::string> command;  // argv; [0] must lie in an allowed plugin folder (agent-side)
  bool operator==(const PluginSpec&) const = default;
};

struct AgentConfig {
  int64_t revision = 0;

  CheckSchedule inventory_schedule{true, std::chrono::seconds(3600), std::chrono::seconds(60)};

  CheckSchedule cpu_schedule;
  PercentThresholds cpu{90, 98};  // busy percent over the interval

  CheckSchedule memory_schedule;
  PercentThresholds memory{90, 95};  // used (not available) percent

  CheckSchedule swap_schedule;
  PercentThresholds swap{50, 80};

  CheckSchedule disk_schedule;
  PercentThresholds disk_space{85, 95};
  PercentThresholds disk_inodes{85, 95};
  std::vector<std::string> disk_ignore_mounts;

  CheckSchedule smart_schedule{true, std::chrono::seconds(3600), std::chrono::seconds(60)};
  std::vector<std::string> smart_devices;  // empty: every device `smartctl --scan` finds

  CheckSchedule updates_schedule{true, std::chrono::seconds(3600), std::chrono::seconds(120)};
  int updates_warn_pending = 1;      // pending updates at or above: warning
  int updates_crit_security = 1;     // pending security updates at or above: critical
  int updates_warn_days_since = 14;  // last successful update older than this: warning

  CheckSchedule antivirus_schedule{true, std::chrono::seconds(3600), std::chrono::seconds(30)};
  std::string antivirus_database_dir = "/var/lib/clamav";
  int antivirus_warn_hours = 48;  // signature age
  int antivirus_crit_hours = 168;
  bool antivirus_required = true;  // "no antivirus present" is critical (else ok)

  CheckSchedule backup_schedule{true, std::chrono::seconds(900), std::chrono::seconds(120)};
  std::vector<BackupSource> backup_sources;

  CheckSchedule firewall_schedule{true, std::chrono::seconds(900), std::chrono::seconds(30)};
  bool firewall_required = true;  // no rules / accept-all policy is critical (else warning)

  CheckSchedule services_schedule;
  std::vector<std::string> services_units;  // systemd units that must be active
  int services_max_failed = 0;              // more failed units than this: warning

  CheckSchedule certificates_schedule{true, std::chrono::seconds(3600), std::chrono::seconds(30)};
  std::vector<std::string> certificate_endpoints;  // "host:port"
  std::vector<std::string> certificate_files;      // PEM files
  int certificates_warn_days = 21;
  int certificates_crit_days = 7;

  CheckSchedule reachability_schedule;
  std::vector<ReachabilityTarget> reachability_targets;

  CheckSchedule plugin_schedule{true, std::chrono::seconds(300), std::chrono::seconds(60)};
  std::vector<PluginSpec> plugins;

  // The schedule of check `name` (one of kCheckNames; any other name is a bug and aborts).
  const CheckSchedule& Schedule(std::string_view name) const;

  bool operator==(const AgentConfig&) const = default;
};

// The built-in configuration for a device kind (servers: every check; workstations: no
// firewall "required", longer backup thresholds...). Revision 0. A kind that is not one of
// kDeviceKinds gets the server's configuration.
AgentConfig DefaultAgentConfig(std::string_view kind);

// Compact JSON with every key written. DecodeAgentConfig(EncodeAgentConfig(c)) == c.
std::string EncodeAgentConfig(const AgentConfig& config);

// Decodes and validates untrusted configuration JSON; keys absent from `text` keep the values of
// `defaults`. Errors: kInvalidArgument naming every wrong field ("checks.disk.warn_percent");
// kPayloadTooLarge past 256 KiB.
Result<AgentConfig> DecodeAgentConfig(std::string_view text, const AgentConfig& defaults);

}  // namespace vigil::proto
