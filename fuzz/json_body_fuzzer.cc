// Fuzzes the decoding of untrusted JSON bodies: json::Parse with its limits, then ObjectReader
// reading every kind of field. Must never crash, hang or leak; errors are values.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto j = vigil::json::Parse(text, {.max_bytes = 1 << 16, .max_depth = 16});
  if (!j) {
    return 0;
  }
  vigil::json::ObjectReader r(*j);
  (void)r.OptString("name", 1, 200);
  (void)r.OptString("notes", 0, 1000, vigil::json::Text::kMultiline);
  (void)r.OptInt("employees", 0, 1'000'000);
  (void)r.OptBool("flag");
  (void)r.OptEnum("role", {"owner", "admin"});
  (void)r.OptStringArray("tags", 10, 0, 50);
  (void)r.TakeNull("site_id");
  if (const auto* nested = r.OptObject("downtime_cost")) {
    vigil::json::ObjectReader n(*nested, "downtime_cost.");
    (void)n.OptInt("per_hour_minor", 0, INT64_MAX);
    vigil::Status s = n.Finish();
    for (const auto& e : s.field_errors()) {
      r.AddError(e.field, e.detail);
    }
  }
  vigil::Status s = r.Finish();
  // Field errors must be printable as JSON (no invalid UTF-8 may leak into them).
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : s.field_errors()) {
    out.push_back({{"field", e.field}, {"detail", e.detail}});
  }
  (void)out.dump();
  return 0;
}
