#pragma once

// Parsers for the agent's `backup` check: restic (`restic snapshots --json`), borg
// (`borg list --json`) and a generic "last success" marker file, plus the evaluation of the newest
// good backup's age and the classification of the tools' own failures (wrong password, missing
// repository, locked repository).
//
// Everything here is a pure function of text and times: the caller runs the tool, reads the marker
// file and passes `now`. All input is untrusted (a compromised or broken tool may print anything):
// the parsers bound sizes, never throw and never abort; errors are values.
//
// Thread safety: free functions without shared state; call from any thread.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "proto/check.h"

namespace vigil::checks {

// One backup (restic snapshot or borg archive).
struct BackupSnapshot {
  std::string id;                  // restic: full id; borg: archive id
  std::string name;                // restic: short_id; borg: archive name
  TimePoint time;                  // when the backup was taken, UTC
  std::string hostname;            // restic only ("" for borg)
  std::vector<std::string> paths;  // restic only, at most kMaxListItems kept
  std::vector<std::string> tags;   // restic only, at most kMaxListItems kept
  bool operator==(const BackupSnapshot&) const = default;
};

// Limits applied to the tools' JSON (a repository with hourly snapshots for years stays far
// below them).
inline constexpr size_t kMaxBackupJsonBytes = 16u << 20;
inline constexpr size_t kMaxSnapshots = 100'000;
inline constexpr size_t kMaxListItems = 64;     // paths / tags kept per snapshot
inline constexpr size_t kMaxFieldBytes = 4096;  // longer ids, names, paths are refused

// Parses the output of `restic snapshots --json` (restic 0.14+: an array of objects with "time" in
// RFC 3339 with up to nanoseconds and a zone offset, "hostname", "paths", "tags", "id",
// "short_id"). Unknown fields are ignored. Order of the result: as printed by restic.
// Errors: kPayloadTooLarge past kMaxBackupJsonBytes; kInvalidArgument for malformed JSON, a value
// that is not an array, more than kMaxSnapshots entries, an entry without a valid "time" (years
// 1900..9999) or "id", or a field of the wrong type (the message names the entry and field).
Result<std::vector<BackupSnapshot>> ParseResticSnapshots(std::string_view json);

// Parses the output of `borg list --json` (borg 1.2: {"archives":[{"name","id","time","start"...}],
// "repository":{...}}). borg 1.x prints times in the local time of the machine that ran
// `borg list`, without a zone ("2026-11-20T03:00:01.000000"); `utc_offset` is that zone's offset
// east of UTC (+60 min for CET) and is subtracted. Times that do carry an offset or "Z" (borg 2)
// use it instead. A single offset is applied to all archives, so archives from the other side of a
// DST change are off by an hour; only the newest matters for the check.
// Errors: as ParseResticSnapshots, plus kInvalidArgument for |utc_offset| > 18 h or a value that is
// not an object with an "archives" array.
Result<std::vector<BackupSnapshot>> ParseBorgList(std::string_view json,
                                                  std::chrono::minutes utc_offset);

// Snapshots whose time is more than this ahead of `now` are reported as clock skew.
inline constexpr std::chrono::minutes kBackupFutureTolerance{5};

// The `backup` check's result for `target` ("restic:/srv/backup") from the snapshots: critical
// when there is none; else by the newest snapshot's age: critical at >= crit_age, warning at
// >= warn_age, otherwise ok. A newest snapshot more than kBackupFutureTolerance in the future is a
// warning that names the clock skew (it proves nothing about freshness). Metrics:
// backup.age_seconds (negative for a future snapshot; warn/crit thresholds attached) and
// backup.snapshots. Details: newest_time (RFC 3339), newest_id, newest_name, hostname.
proto::CheckResult EvaluateBackup(const std::vector<BackupSnapshot>& snapshots, TimePoint now,
                                  std::chrono::hours warn_age, std::chrono::hours crit_age,
                                  std::string target);

// The `backup` check's result when `tool` ("restic" or "borg") failed with `exit_code` and
// `stderr_text` (restic 0.14..0.17, borg 1.2..1.4 texts and exit codes):
//   critical: wrong password / passphrase, missing repository;
//   warning:  repository locked by another process (a backup or prune is probably running);
//   unknown:  anything else, with the first non-empty stderr line (or the exit code).
// The message is one line of valid UTF-8, at most ~300 bytes, whatever stderr held.
proto::CheckResult ClassifyBackupToolError(std::string_view tool, int exit_code,
                                           std::string_view stderr_text, std::string target);

// The time a generic "last success" marker file stands for: its first line when that is an RFC
// 3339 time ("2026-11-20T03:00:01+01:00", as `date -Iseconds` writes) or Unix seconds (as
// `date +%s` writes, fraction allowed), otherwise `mtime` (an empty file, or any other text).
// Errors: kInvalidArgument when the first line clearly is a time or a number but an invalid one
// (month 13, year 10000, no zone, seconds out of range): silently using the mtime would hide a
// broken backup script.
Result<TimePoint> ParseMarkerFile(std::string_view content, TimePoint mtime);

}  // namespace vigil::checks
