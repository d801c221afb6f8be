#pragma once

// Helpers shared by the tests of the checks and collectors: recorded tool outputs from
// src/agent/checks/testdata/, times, and metrics of a result.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "proto/check.h"

namespace vigil::checks::testing {

// The file `relative` under src/agent/checks/testdata/ ("system/nft_empty.json").
inline std::string ReadTestdata(const std::string& relative) {
  std::filesystem::path path =
      std::filesystem::path(__FILE__).parent_path() / "testdata" / relative;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing test data " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string ReadSystemTestdata(const std::string& name) {
  return ReadTestdata("system/" + name);
}

// An RFC 3339 time; a malformed one fails the test.
inline TimePoint At(std::string_view rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(TimePoint());
}

inline const proto::Metric* FindMetric(const proto::CheckResult& r, std::string_view name) {
  for (const auto& m : r.metrics) {
    if (m.name == name) {
      return &m;
    }
  }
  return nullptr;
}

}  // namespace vigil::checks::testing
