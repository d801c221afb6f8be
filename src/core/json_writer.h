#pragma once

// Appending JSON values to a string, for encoders on hot paths (the stored metrics and details of
// every ingested result, P1 in DESIGN.md) where building an nlohmann tree only to dump it would
// cost more than the rest of the work. The output reads back as nlohmann's dump() of the same
// values would.
//
// Thread safety: free functions.

#include <string>
#include <string_view>

namespace vigil::json {

// `s` as a JSON string: quotes, backslashes and control characters escaped, other UTF-8 as is;
// invalid UTF-8 becomes U+FFFD.
void AppendString(std::string& out, std::string_view s);

// `v` in the shortest form that reads back exactly, with ".0" on whole numbers ("41.0", "0.1",
// "1e+300"); null when `v` is not finite.
void AppendNumber(std::string& out, double v);

}  // namespace vigil::json
