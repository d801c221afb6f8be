#pragma once

// ToolRunner: runs an external program (smartctl, restic, borg, apt-get, a monitoring plugin)
// with a time limit and bounded output. The process runner forks and execs in a new process
// group with stdin from /dev/null, a minimal environment plus the given variables, reads stdout
// and stderr without blocking, and at the deadline kills the whole group (SIGTERM, then SIGKILL
// after a short grace) and reaps it. Tests substitute a recorded runner.
//
// Thread safety: Run may be called from several threads at once.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace vigil::agent {

struct ToolRequest {
  std::vector<std::string> argv;  // argv[0]: an absolute path, or a name searched in PATH
  std::chrono::milliseconds timeout{30'000};
  size_t max_output_bytes = size_t{16} << 20;  // per stream; the rest is read and discarded
  std::vector<std::pair<std::string, std::string>> env;  // added to PATH, LANG=C, HOME
};

struct ToolOutput {
  int exit_code = -1;      // the program's exit status; -1 when killed by a signal
  bool timed_out = false;  // killed at the deadline
  bool truncated = false;  // an output stream hit max_output_bytes
  std::string out;
  std::string err;
};

class ToolRunner {
 public:
  virtual ~ToolRunner() = default;
  // Errors: kNotFound when the program does not exist or is not executable (so a check can say
  // "smartctl is not installed"); kUnavailable when the process cannot be started. A program that
  // runs and fails is not an error: see exit_code / timed_out.
  virtual Result<ToolOutput> Run(const ToolRequest& request) const = 0;
};

std::unique_ptr<ToolRunner> MakeProcessRunner();

}  // namespace vigil::agent
