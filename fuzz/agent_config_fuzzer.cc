// Fuzzes the decoding of agent configurations (DecodeAgentConfig), then checks the round trip: a
// configuration that decodes must encode to text that decodes again to an equal configuration,
// and encoding must be stable. Must never crash, hang or leak; errors are values.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/agent_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using vigil::proto::AgentConfig;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Both kinds' defaults, chosen by the input's length.
  static const AgentConfig kServer = vigil::proto::DefaultAgentConfig("server");
  static const AgentConfig kWorkstation = vigil::proto::DefaultAgentConfig("workstation");
  const AgentConfig& defaults = (size % 2 == 0) ? kServer : kWorkstation;
  auto config = vigil::proto::DecodeAgentConfig(text, defaults);
  if (!config) {
    (void)config.error().ToString();
    return 0;
  }
  for (std::string_view name : vigil::proto::kCheckNames) {
    const auto& s = config->Schedule(name);
    if (s.timeout >= s.interval) {
      abort();
    }
  }
  std::string encoded = vigil::proto::EncodeAgentConfig(*config);
  auto again = vigil::proto::DecodeAgentConfig(encoded, AgentConfig{});
  if (!again || !(*again == *config)) {
    abort();
  }
  if (vigil::proto::EncodeAgentConfig(*again) != encoded) {
    abort();
  }
  return 0;
}
