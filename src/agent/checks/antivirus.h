#pragma once

// Parser and evaluation for the agent's `antivirus` check (ClamAV today): the age of the virus
// signatures, read from the header of the daily database (daily.cvd or daily.cld), and whether
// the scanner (clamd) and the signature updater (freshclam) are running.
//
// A ClamAV database starts with a 512-byte ASCII header, padded with spaces:
//   ClamAV-VDB:<build time "22 Nov 2026 08-23 +0000">:<version>:<signatures>:<functionality
//   level>:<md5>:<digital signature>:<builder>:<build time, Unix seconds>
// (.cld files, updated incrementally by freshclam, carry "X" for md5 and signature.)
//
// Pure functions; the collector (collect/antivirus.cc) reads the files and service states. The
// database file is untrusted input: sizes are bounded, nothing throws or aborts.
//
// Thread safety: free functions without shared state; call from any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"
#include "proto/check.h"

namespace vigil::checks {

inline constexpr size_t kCvdHeaderBytes = 512;

struct ClamavDatabaseInfo {
  TimePoint build_time;  // from the Unix time field, else from the text time
  int64_t version = 0;
  int64_t signatures = 0;
  int64_t functionality_level = 0;
  std::string builder;
  bool operator==(const ClamavDatabaseInfo&) const = default;
};

// Parses a database header: the first kCvdHeaderBytes of `data` are used (more is ignored;
// trailing spaces and NULs are trimmed). The build time comes from the last field (Unix seconds,
// 2000..9999) when valid, else from the text time ("22 Nov 2026 08-23 +0000").
// Errors: kInvalidArgument when the "ClamAV-VDB:" magic is missing, there are fewer than 4
// fields, version or signature count is not a non-negative number, or no valid time is found.
Result<ClamavDatabaseInfo> ParseClamavDatabaseHeader(std::string_view data);

enum class ServiceState : uint8_t {
  kNotInstalled,  // no such service or program: not part of this installation
  kRunning,
  kStopped,
  kUnknown,  // could not be determined
};

struct AntivirusState {
  bool present = false;       // any ClamAV installation found
  std::string database_file;  // ".../daily.cld" ("" when none)
  std::optional<ClamavDatabaseInfo> database;
  std::string database_error;  // why the header could not be read ("" when it was)
  ServiceState scanner = ServiceState::kUnknown;  // clamd / clamav-daemon
  ServiceState updater = ServiceState::kUnknown;  // freshclam / clamav-freshclam
};

struct AntivirusThresholds {
  int warn_hours = 48;   // signatures older: warning
  int crit_hours = 168;  // ... critical
  bool required = true;  // no antivirus: critical (else ok)
};

// The `antivirus` check's result (target "clamav", or "" when no antivirus is present):
//   no ClamAV: critical "no antivirus present" when required, else ok;
//   present but no readable daily database: critical, naming the file or the error;
//   signatures older than crit_hours: critical; older than warn_hours: warning;
//   a database built more than an hour in the future: warning (clock skew);
//   the scanner or updater stopped (not merely not installed): warning.
// Metrics: antivirus.signature_age_hours (h, warn/crit), antivirus.signatures,
// antivirus.database_version. Details: database_file, build_time, scanner, updater, builder.
proto::CheckResult EvaluateAntivirus(const AntivirusState& state, TimePoint now,
                                     const AntivirusThresholds& thresholds);

std::string_view ServiceStateName(ServiceState s);  // "not installed", "running", ...

}  // namespace vigil::checks
