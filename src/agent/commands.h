#pragma once

// The subcommands of vigil-agent. Each Add* registers its subcommand(s) on `app` and returns a
// runner that, after parsing, returns the exit code when one of its subcommands was chosen and
// nullopt otherwise.

#include <functional>
#include <optional>

namespace CLI {
class App;
}  // namespace CLI

namespace vigil::agent {

using CommandRunner = std::function<std::optional<int>()>;

// `check NAME [--input FILE] [--json] ...`: runs one check once (check_command.cc).
CommandRunner AddCheckCommand(CLI::App& app);
// `enroll --server URL --token T` and `run` (daemon_command.cc).
CommandRunner AddDaemonCommands(CLI::App& app);

}  // namespace vigil::agent
