// `vigil-agent enroll` and `vigil-agent run`: placeholders until the transport lands.

#include <CLI/CLI.hpp>

#include <cstdio>

#include "agent/commands.h"

namespace vigil::agent {

CommandRunner AddDaemonCommands(CLI::App& app) {
  auto* run = app.add_subcommand("run", "run the agent in the foreground (not implemented yet)");
  return [run]() -> std::optional<int> {
    if (!run->parsed()) {
      return std::nullopt;
    }
    std::fprintf(stderr, "vigil-agent: 'run' is not implemented yet\n");
    return 2;
  };
}

}  // namespace vigil::agent
