#pragma once

// Devices watched by vigil-agent, the enrollment tokens that admit them, and the state of their
// checks: plain data plus the pure rules of ingest (what a batch changes) and presence.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "proto/batch.h"
#include "proto/check.h"

namespace vigil::domain {

struct EnrollmentToken {
  EnrollmentTokenId id{};
  ClientId client_id{};
  std::optional<SiteId> site_id;
  std::string kind = "server";  // proto::kDeviceKinds
  std::string label;
  std::string prefix;  // first characters of the secret, to recognise it in lists
  int64_t max_uses = 1;
  int64_t uses = 0;
  TimePoint expires_at;
  std::optional<TimePoint> revoked_at;
  std::optional<UserId> created_by;
  TimePoint created_at;

  // Usable now: not revoked, not expired, uses left.
  bool UsableAt(TimePoint now) const { return !revoked_at && now < expires_at && uses < max_uses; }
};

enum class Presence : uint8_t { kOnline, kOffline, kNever };  // kNever: enrolled, never reported
std::string_view PresenceName(Presence p);                    // "online", "offline", "never"

struct Device {
  DeviceId id{};
  ClientId client_id{};
  std::optional<SiteId> site_id;
  std::string kind;
  std::string hostname;
  std::string os;  // "Debian GNU/Linux 12 (bookworm)", from the inventory
  std::string agent_version;
  TimePoint enrolled_at;
  std::optional<TimePoint> last_seen_at;
  bool connected = false;  // a WebSocket is open now
  std::optional<TimePoint> revoked_at;
  int64_t last_sequence = 0;  // highest batch sequence stored
  // Worst current status over its checks; nullopt before the first result.
  std::optional<proto::CheckStatus> status;
  int64_t failing_checks = 0;  // current checks not ok
  int64_t config_revision = 1;
  int64_t gap_batches = 0;  // batches the agent reported as lost
};

// Online while its WebSocket is open, or when it reported within `grace` (batches only);
// kNever before it reported once.
Presence PresenceAt(const Device& d, TimePoint now, std::chrono::seconds grace);

// The current state of one (device, check, target).
struct CheckState {
  DeviceId device_id{};
  std::string check;
  std::string target;
  proto::CheckStatus status = proto::CheckStatus::kUnknown;
  std::string message;
  std::string metrics_json;  // [{"name":..,"value":..,"unit":..,"warn":..,"crit":..}]
  std::string details_json;  // {"model":..}
  TimePoint observed_at;
  TimePoint changed_at;  // when status last changed
};

// One stored result of a check, for history.
struct HistoryPoint {
  TimePoint at;
  proto::CheckStatus status = proto::CheckStatus::kUnknown;
  std::string message;
  std::vector<std::pair<std::string, double>> values;  // each metric's name and value
};

// History keeps each batch's results together, in one text (one row per batch instead of one per
// result: DESIGN.md P1), as
//   [[check, target, observed_at (Unix ms), status (int), message, {"metric": value, ...}], ...]
// Units and thresholds stay with the current state.
std::string HistoryEntriesJson(const std::vector<proto::Observation>& observations);

struct HistoryEntry {
  std::string check;
  std::string target;
  HistoryPoint point;
};
// The entries of a text written by HistoryEntriesJson; with `only` (check, target), just that
// series' (the others are skipped, not decoded). Errors: kInvalidArgument for a text it did not
// write.
Result<std::vector<HistoryEntry>> ParseHistoryEntries(
    std::string_view text,
    const std::optional<std::pair<std::string_view, std::string_view>>& only = std::nullopt);

// Hourly roll-up of one metric of one (device, check, target).
struct RollupPoint {
  TimePoint hour;
  std::string metric;
  double min = 0, max = 0, sum = 0;
  int64_t count = 0;
  proto::CheckStatus worst = proto::CheckStatus::kOk;
};

// The JSON stored for a result's metrics and details (compact, fixed key order: name, value, unit,
// warn, crit, min, max).
std::string MetricsJson(const std::vector<proto::Metric>& metrics);
std::string DetailsJson(const std::map<std::string, std::string>& details);

// For each (check, target) in `observations`, the newest one (by observed_at, later position
// wins ties): what the current-state table must end up holding after the batch.
std::vector<const proto::Observation*> NewestPerTarget(
    const std::vector<proto::Observation>& observations);

}  // namespace vigil::domain
