#pragma once

// Disk health from `smartctl -x --json` (smartmontools 7.x) for ATA, SCSI/SAS and NVMe disks: the
// parser behind the agent's `smart` check. A pure function of text: the agent runs smartctl, hands
// its stdout here, keeps the returned SmartCounters and passes them back on the next run so that
// growth of a failure counter is detected.
//
// The rules (critical / warning / unknown / ok) are documented in docs/smart-verdicts.md together
// with the verdict for each of the 168 real outputs the tests check.
//
// Thread safety: pure functions; call from any thread.
// Input: untrusted. Malformed JSON, wrong types, huge or negative numbers never crash; a field of
// the wrong type is treated as absent.

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/status.h"
#include "proto/check.h"

namespace vigil::checks {

// The failure-related counts of one disk. A field is nullopt when the disk does not report it
// (an NVMe disk has no reallocated sectors; an ATA disk without attribute 197 has no pending
// count), so that "absent" never reads as "zero".
struct SmartCounters {
  // ATA attribute 5 (Reallocated_Sector_Ct; retired blocks on many SSDs).
  std::optional<uint64_t> reallocated;
  // ATA attribute 187 (Reported_Uncorrect).
  std::optional<uint64_t> reported_uncorrect;
  // ATA attribute 188 (Command_Timeout). When the raw value does not fit 16 bits it packs several
  // 16-bit counters (Seagate): only the low 16 bits, the total timeout count, are kept.
  std::optional<uint64_t> command_timeout;
  // ATA attribute 197 (Current_Pending_Sector).
  std::optional<uint64_t> pending;
  // ATA attribute 198 (Offline_Uncorrectable).
  std::optional<uint64_t> offline_uncorrectable;
  // NVMe SMART/health log media_errors (unrecovered data integrity errors).
  std::optional<uint64_t> media_errors;
  // SCSI grown defect list length.
  std::optional<uint64_t> grown_defects;
  // SCSI error counter log: total uncorrected errors of read + write + verify.
  std::optional<uint64_t> scsi_uncorrected;

  bool operator==(const SmartCounters&) const = default;
};

// One parsed smartctl report: the check result and the counters to keep for the next run.
struct SmartReading {
  proto::CheckResult result;
  SmartCounters counters;
};

// Parses one `smartctl -x --json` output (any of ATA, SCSI, NVMe) into a CheckResult for check
// "smart", target = device name ("/dev/sda"). `previous` is the counters of the previous reading
// of the same disk, or nullptr; any failure counter that grew since makes the result critical
// (command_timeout growth only warns).
//
// A report smartctl produced about a device it could not open (exit status bits 0-1) or without
// any health data is a value with status kUnknown, not an error.
// Errors: kInvalidArgument for malformed JSON (size/depth/UTF-8 limits of json::Parse included)
// or JSON that is not a smartctl report (not an object, no "smartctl" object).
Result<SmartReading> ParseSmartctlReading(std::string_view json_text,
                                          const SmartCounters* previous = nullptr);

// The same, returning only the check result.
Result<proto::CheckResult> ParseSmartctl(std::string_view json_text,
                                         const SmartCounters* previous = nullptr);

}  // namespace vigil::checks
