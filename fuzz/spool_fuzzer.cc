// Fuzzes the decoders of the agent's spool files (batch files and the state file), which Open
// reads from a directory anything may have written to. Must never crash, hang or leak; a
// malformed file is a kInvalidArgument value. What decodes must survive a re-encode unchanged.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/spool/spool.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);

  if (auto entry = vigil::agent::DecodeBatch(bytes)) {
    auto again =
        vigil::agent::DecodeBatch(vigil::agent::EncodeBatch(entry->sequence, entry->payload));
    if (!again || !(*again == *entry)) {
      std::abort();
    }
  }
  if (auto state = vigil::agent::DecodeState(bytes)) {
    auto again = vigil::agent::DecodeState(vigil::agent::EncodeState(*state));
    if (!again || again->next_seq != state->next_seq || again->gaps != state->gaps) {
      std::abort();
    }
  }
  if (auto seq = vigil::agent::ParseBatchFileName(bytes)) {
    if (vigil::agent::BatchFileName(*seq) != bytes) {
      std::abort();
    }
  }
  return 0;
}
