#include "core/check.h"

#include <cstdio>
#include <cstdlib>

namespace vigil::internal {

void CheckFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "VIGIL_CHECK failed: %s at %s:%d\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace vigil::internal
