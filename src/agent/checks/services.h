#pragma once

// Parsers and evaluation for the agent's `services` check on systemd: the configured units must be
// active, and the number of failed units must stay within services_max_failed.
//
// Sources (collect/services.cc, only when systemd runs: /run/systemd/system exists):
//   `systemctl show -p LoadState -p ActiveState -p SubState -- UNIT` → "Key=Value" lines. (With
//     --value systemctl prints bare values in its own property order, not the requested one, so
//     the keyed form is used.)
//   `systemctl list-units --state=failed --plain --no-legend` → one unit per line:
//     "UNIT LOAD ACTIVE SUB DESCRIPTION..." (older versions prefix "●" even with --plain).
//
// Pure functions of text; systemctl's output is untrusted (bounded, never throws or aborts).
//
// Thread safety: free functions without shared state; call from any thread.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "proto/check.h"

namespace vigil::checks {

inline constexpr size_t kMaxSystemctlOutputBytes = 4u << 20;
inline constexpr size_t kMaxFailedUnitsKept = 100;
inline constexpr size_t kMaxUnitNameBytes = 256;

struct UnitState {
  std::string load_state;    // "loaded", "not-found", "masked", "error"...
  std::string active_state;  // "active", "inactive", "failed", "activating"...
  std::string sub_state;     // "running", "exited", "dead"...
  bool operator==(const UnitState&) const = default;
};

// Parses the "Key=Value" lines of `systemctl show`; unknown keys are ignored.
// Errors: kPayloadTooLarge past kMaxSystemctlOutputBytes; kInvalidArgument when LoadState or
// ActiveState is missing or empty.
Result<UnitState> ParseSystemctlShow(std::string_view text);

struct FailedUnit {
  std::string name;
  std::string description;
  bool operator==(const FailedUnit&) const = default;
};

struct FailedUnits {
  size_t count = 0;               // every listed unit
  std::vector<FailedUnit> units;  // the first kMaxFailedUnitsKept
};

// Parses `systemctl list-units --state=failed --plain --no-legend`. Blank lines and a legend
// (if printed anyway) are skipped. Errors: kPayloadTooLarge; kInvalidArgument for a line with
// fewer than 4 columns.
Result<FailedUnits> ParseFailedUnits(std::string_view text);

// True for a plausible unit name to pass to systemctl: 1..kMaxUnitNameBytes of [A-Za-z0-9:_.@\-],
// not starting with '-'.
bool IsValidUnitName(std::string_view unit);

// The result for one required unit (target = unit): ok when active (also "reloading");
// warning when activating/deactivating; critical when inactive, failed, not found or masked.
// Details: load_state, active_state, sub_state.
proto::CheckResult EvaluateRequiredUnit(std::string_view unit, const UnitState& state);

// The host result (target ""): warning when more than `max_failed` units failed. Metric
// services.failed (warn = max_failed + 1). Details: failed_units (names, comma separated).
proto::CheckResult EvaluateFailedUnits(const FailedUnits& failed, int max_failed);

}  // namespace vigil::checks
