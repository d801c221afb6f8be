#include "proto/check.h"

namespace vigil::proto {

std::string_view CheckStatusName(CheckStatus s) {
  switch (s) {
    case CheckStatus::kOk:
      return "ok";
    case CheckStatus::kWarning:
      return "warning";
    case CheckStatus::kCritical:
      return "critical";
    case CheckStatus::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::optional<CheckStatus> ParseCheckStatus(std::string_view name) {
  for (auto s :
       {CheckStatus::kOk, CheckStatus::kWarning, CheckStatus::kCritical, CheckStatus::kUnknown}) {
    if (CheckStatusName(s) == name) {
      return s;
    }
  }
  return std::nullopt;
}

CheckStatus Worst(CheckStatus a, CheckStatus b) {
  auto rank = [](CheckStatus s) {
    switch (s) {
      case CheckStatus::kOk:
        return 0;
      case CheckStatus::kUnknown:
        return 1;
      case CheckStatus::kWarning:
        return 2;
      case CheckStatus::kCritical:
        return 3;
    }
    return 1;
  };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace vigil::proto
