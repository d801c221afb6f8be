// libFuzzer harness of the /proc parsers behind the cpu, memory, swap and disk checks: the input is
// read as each of /proc/stat, /proc/loadavg, /proc/meminfo and /proc/self/mounts, and whatever
// parses is evaluated, so thresholds and messages see hostile numbers and strings too.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/checks/resources.h"
#include "core/check.h"

namespace {

using namespace vigil::checks;  // NOLINT(google-build-using-namespace): a fuzz harness

void CheckResultShape(const vigil::proto::CheckResult& r) {
  for (const auto& m : r.metrics) {
    VIGIL_CHECK(!m.name.empty() && m.name.size() <= 200);
  }
  VIGIL_CHECK(r.message.find('\n') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  vigil::proto::PercentThresholds t{85, 95};

  if (auto cpu = ParseProcStatCpu(text)) {
    CpuTimes later = *cpu;
    later.user += 7;
    later.idle += 3;
    if (auto usage = ComputeCpuUsage(*cpu, later)) {
      VIGIL_CHECK(usage->busy_percent >= 0 && usage->busy_percent <= 100.0001);
      CheckResultShape(EvaluateCpu(*usage, std::nullopt, t));
    }
    (void)ComputeCpuUsage(later, *cpu);
  }
  std::optional<LoadAverage> load;
  if (auto l = ParseLoadavg(text)) {
    load = *l;
    CheckResultShape(EvaluateCpu(CpuUsage{}, load, t));
  }
  if (auto mem = ParseMeminfo(text)) {
    VIGIL_CHECK(mem->available_bytes <= mem->total_bytes);
    VIGIL_CHECK(mem->swap_free_bytes <= mem->swap_total_bytes);
    CheckResultShape(EvaluateMemory(*mem, t));
    CheckResultShape(EvaluateSwap(*mem, t));
  }
  if (auto mounts = ParseMounts(text)) {
    auto real = RealFileSystems(*mounts, {"/boot"});
    VIGIL_CHECK(real.size() <= mounts->size());
    uint64_t n = size;
    for (const MountEntry& m : real) {
      VIGIL_CHECK(!IsPseudoFileSystem(m));
      FsUsage u{n * 4096, n * 1024, n * 512, n, n / 2};
      CheckResultShape(EvaluateDisk(m, u, t, t));
    }
  }
  return 0;
}
