// Fuzzes the parser of monitoring-plugin output (first line, long text, perfdata). The first byte
// picks the exit code. Must never crash, hang or leak; every string must be valid UTF-8 and the
// bounds must hold.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/checks/plugin.h"
#include "core/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  int exit_code = static_cast<int>(data[0]) - 2;  // -2 .. 253
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto r = vigil::checks::ParsePluginOutput(exit_code, text, "fuzz");
  bool ok =
      vigil::json::IsValidUtf8(r.message) && r.metrics.size() <= vigil::checks::kMaxPluginMetrics;
  for (const auto& m : r.metrics) {
    ok = ok && vigil::json::IsValidUtf8(m.name) && vigil::json::IsValidUtf8(m.unit);
  }
  for (const auto& [k, v] : r.details) {
    ok = ok && vigil::json::IsValidUtf8(v);
  }
  if (!ok) {
    std::abort();
  }
  return 0;
}
