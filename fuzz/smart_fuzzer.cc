// Fuzzes the smartctl --json parser of the agent's `smart` check: any bytes, with and without
// previous counters. Must never crash, hang or leak; malformed input is a kInvalidArgument value.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/checks/smart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto first = vigil::checks::ParseSmartctlReading(text);
  if (!first) {
    return 0;
  }
  // Feed the counters back in, and a lower reading, to exercise the growth rules.
  vigil::checks::SmartCounters previous = first->counters;
  (void)vigil::checks::ParseSmartctl(text, &previous);
  vigil::checks::SmartCounters zero;
  zero.reallocated = 0;
  zero.reported_uncorrect = 0;
  zero.command_timeout = 0;
  zero.pending = 0;
  zero.offline_uncorrectable = 0;
  zero.media_errors = 0;
  zero.grown_defects = 0;
  zero.scsi_uncorrected = 0;
  (void)vigil::checks::ParseSmartctl(text, &zero);
  return 0;
}
