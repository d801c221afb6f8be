// Fuzzes json::Reader, the pull reader of the hot decoders (agent batches): reading any text must
// never crash, hang or recurse, and it must agree with json::Parse (nlohmann) on which texts are
// JSON. Where both accept, every string and number the reader yields must equal the tree's.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/json_reader.h"

namespace {

using vigil::json::Json;
using vigil::json::Reader;

constexpr vigil::json::ParseLimits kLimits{.max_bytes = 1 << 16, .max_depth = 16};

// Reads the next value fully, collecting its scalars (and keys) in document order; `repeated`
// is set when an object repeats a key.
void Walk(Reader& in, std::vector<Json>& scalars, bool& repeated) {
  switch (in.Peek()) {
    case Reader::Type::kObject:
      if (in.BeginObject()) {
        std::set<std::string> keys;
        while (in.NextMember()) {
          repeated |= !keys.insert(in.key()).second;
          scalars.emplace_back(in.key());
          Walk(in, scalars, repeated);
        }
      }
      return;
    case Reader::Type::kArray:
      if (in.BeginArray()) {
        while (in.NextElement()) {
          Walk(in, scalars, repeated);
        }
      }
      return;
    case Reader::Type::kString:
      if (auto s = in.String()) {
        scalars.emplace_back(*s);
      }
      return;
    case Reader::Type::kInteger:
    case Reader::Type::kNumber:
      if (auto n = in.ReadNumber()) {
        scalars.emplace_back(n->value);
      }
      return;
    case Reader::Type::kBool:
      if (auto b = in.Bool()) {
        scalars.emplace_back(*b);
      }
      return;
    case Reader::Type::kNull:
      in.Null();
      scalars.emplace_back(nullptr);
      return;
    case Reader::Type::kNone:
      in.Skip();  // records the syntax error
      return;
  }
}

// The same scalars from nlohmann's tree, which keeps the members' order (ordered_json).
void Flatten(const nlohmann::ordered_json& j, std::vector<Json>& scalars) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      scalars.emplace_back(it.key());
      Flatten(it.value(), scalars);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) {
      Flatten(v, scalars);
    }
  } else if (j.is_number()) {
    scalars.emplace_back(j.get<double>());
  } else if (j.is_string()) {
    scalars.emplace_back(j.get<std::string>());
  } else if (j.is_boolean()) {
    scalars.emplace_back(j.get<bool>());
  } else {
    scalars.emplace_back(nullptr);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Reader skipper(text, kLimits);
  skipper.Skip();
  const bool skipped = skipper.Finish().ok();

  Reader walker(text, kLimits);
  std::vector<Json> scalars;
  bool repeated = false;
  Walk(walker, scalars, repeated);
  const bool walked = walker.Finish().ok();
  if (skipped != walked) {
    std::abort();  // Skip and a full walk must agree
  }

  // nlohmann skips a leading byte order mark; RFC 8259 does not allow one.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    return 0;
  }
  auto tree = vigil::json::Parse(text, kLimits);
  if (tree.has_value() != walked) {
    std::abort();
  }
  if (walked && !repeated) {
    // Parse's limits held (it accepted), so the ordered tree is safe to build.
    auto ordered = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
    std::vector<Json> expected;
    Flatten(ordered, expected);
    if (expected != scalars) {
      std::abort();
    }
  }
  return 0;
}
