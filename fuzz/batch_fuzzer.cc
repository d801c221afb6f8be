// Fuzzes the decoding of agent result batches (DecodeBatch), then checks the round-trip
// property: a batch that decodes must encode to text that decodes again to the same number of
// observations and gaps. Must never crash, hang or leak; errors are values.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "proto/batch.h"

namespace {

// 2026-11-22T12:00:00Z, the "now" the seeds in fuzz/corpus/batch/ were written for.
const vigil::TimePoint kNow = vigil::FromUnixMillis(1795348800000);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const std::set<std::string> kKnown = {"smart", "backup", "heartbeat", "disk", "plugin"};
  // Half the inputs also exercise the known-check filter, chosen by the input's length.
  const std::set<std::string>* known = (size % 2 == 0) ? &kKnown : nullptr;
  // Small first limits; the re-encoding writes every optional key and may be larger.
  vigil::proto::BatchLimits first{.max_bytes = 1 << 16, .max_observations = 64};
  auto batch = vigil::proto::DecodeBatch(text, kNow, first, known);
  if (!batch) {
    (void)batch.error().ToString();
    return 0;
  }
  std::string encoded = vigil::proto::EncodeBatch(*batch);
  auto again = vigil::proto::DecodeBatch(encoded, kNow, {}, known);
  if (!again || again->observations.size() != batch->observations.size() ||
      again->gaps.size() != batch->gaps.size() || again->sequence != batch->sequence) {
    abort();
  }
  // Encoding is stable once text has been through a round trip.
  if (vigil::proto::EncodeBatch(*again) != encoded) {
    abort();
  }
  return 0;
}
