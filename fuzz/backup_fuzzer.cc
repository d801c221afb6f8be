// Fuzzes the backup check's parsers of tool output: restic `snapshots --json`, borg `list --json`,
// the marker file and the classification of the tools' stderr, then evaluates what was parsed.
// Must never crash, hang or leak; every message must be valid UTF-8.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/checks/backup.h"
#include "core/json.h"

namespace {

void CheckUtf8(const vigil::proto::CheckResult& r) {
  if (!vigil::json::IsValidUtf8(r.message)) {
    std::abort();
  }
  for (const auto& [k, v] : r.details) {
    if (!vigil::json::IsValidUtf8(v)) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const vigil::TimePoint now = vigil::FromUnixMillis(1'795'000'000'000);
  const auto evaluate = [&](const auto& snaps) {
    if (snaps) {
      CheckUtf8(vigil::checks::EvaluateBackup(*snaps, now, std::chrono::hours(26),
                                              std::chrono::hours(48), "t"));
    }
  };
  evaluate(vigil::checks::ParseResticSnapshots(text));
  evaluate(vigil::checks::ParseBorgList(text, std::chrono::minutes(60)));
  (void)vigil::checks::ParseMarkerFile(text, now);
  CheckUtf8(vigil::checks::ClassifyBackupToolError("restic", 1, text, "t"));
  return 0;
}
