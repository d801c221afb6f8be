#pragma once

// VIGIL_CHECK(cond): always on; a failed check is a bug, logs and aborts.
// VIGIL_DCHECK(cond): debug builds only.
// Never check input from agents, users, the database or the network with these: return a Status.

namespace vigil::internal {
[[noreturn]] void CheckFailed(const char* expr, const char* file, int line);
}  // namespace vigil::internal

#define VIGIL_CHECK(cond)                                                   \
  do {                                                                      \
    if (!(cond)) ::vigil::internal::CheckFailed(#cond, __FILE__, __LINE__); \
  } while (0)

#ifdef NDEBUG
#define VIGIL_DCHECK(cond) \
  do {                     \
  } while (false && (cond))
#else
#define VIGIL_DCHECK(cond) VIGIL_CHECK(cond)
#endif
