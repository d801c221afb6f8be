#pragma once

// Parsers and evaluation for the agent's `updates` check on Debian and Ubuntu: the pending
// package updates that `apt-get -s -o Debug::NoLocking=1 dist-upgrade` would install (total and
// security), whether the system asks for a reboot (/var/run/reboot-required and its .pkgs list)
// and how long ago the package lists were last refreshed successfully.
//
// Everything here is a pure function of text and times: the collector (collect/updates.cc) runs
// apt-get, reads the files and passes `now`. apt-get's output is untrusted (a broken mirror can
// put anything in a version or origin): the parsers bound sizes, never throw and never abort.
//
// Thread safety: free functions without shared state; call from any thread.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "proto/check.h"

namespace vigil::checks {

inline constexpr size_t kMaxAptOutputBytes = 16u << 20;
inline constexpr size_t kMaxAptUpdates = 100'000;  // more "Inst" lines: kInvalidArgument
inline constexpr size_t kMaxAptUpdatesKept = 200;  // updates listed in AptSimulation::updates
inline constexpr size_t kMaxAptFieldBytes = 256;   // longer names, versions, origins are cut

// One package that the simulated dist-upgrade would install or upgrade.
struct PendingUpdate {
  std::string package;
  std::string current_version;  // "" for a new package (no "[old]")
  std::string new_version;
  std::string origins;  // "Debian:12.15/oldstable, Debian-Security:12/oldstable-security"
  bool security = false;
  bool operator==(const PendingUpdate&) const = default;
};

struct AptSimulation {
  size_t pending = 0;                  // "Inst" lines
  size_t security = 0;                 // ... whose origins name a "-security" suite
  size_t removals = 0;                 // "Remv" lines (dist-upgrade may remove packages)
  std::vector<PendingUpdate> updates;  // the first kMaxAptUpdatesKept, security ones first
};

// Parses apt-get's simulation output (apt 1.x/2.x, any -s action). Lines look like
//   Inst libgcrypt20 [1.10.1-3] (1.10.1-3+deb12u1 Debian:12.15/oldstable,
//        Debian-Security:12/oldstable-security [amd64])        (one line in reality)
//   Inst newpkg (2.0-1 Debian:12.15/oldstable [all]) []
//   Remv oldpkg [1.0-1]
// An update is a security update when its origins contain "-security" (Debian
// "Debian-Security:12/stable-security", Ubuntu "Ubuntu:22.04/jammy-security"). Other lines
// ("Conf", the summary, warnings) are ignored. Strings are sanitised and cut at
// kMaxAptFieldBytes.
// Errors: kPayloadTooLarge past kMaxAptOutputBytes; kInvalidArgument for an "Inst"/"Remv" line
// without a package name, an unterminated "[" or "(", or more than kMaxAptUpdates updates.
Result<AptSimulation> ParseAptSimulation(std::string_view text);

// The package names in /var/run/reboot-required.pkgs (one per line; blank lines skipped,
// duplicates removed, at most 100 kept, each sanitised).
std::vector<std::string> ParseRebootRequiredPackages(std::string_view text);

struct UpdatesState {
  AptSimulation apt;
  bool reboot_required = false;
  std::vector<std::string> reboot_packages;
  std::optional<TimePoint> last_update;  // last successful `apt-get update`, if known
};

struct UpdatesThresholds {
  int warn_pending = 1;      // pending updates at or above: warning (0: never)
  int crit_security = 1;     // pending security updates at or above: critical (0: never)
  int warn_days_since = 14;  // last successful update older than this many days: warning (0: never)
};

// The `updates` check's result (target ""): critical when security updates reach
// crit_security; warning when pending updates reach warn_pending, a reboot is required or the
// lists are older than warn_days_since days (or their age is unknown); otherwise ok.
// Metrics: updates.pending (warn), updates.security (crit), updates.removals,
// updates.reboot_required (0/1), updates.days_since_update (d, warn; absent when unknown).
// Details: packages (the first names, comma separated), security_packages, reboot_packages,
// last_update (RFC 3339).
proto::CheckResult EvaluateUpdates(const UpdatesState& state, TimePoint now,
                                   const UpdatesThresholds& thresholds);

}  // namespace vigil::checks
