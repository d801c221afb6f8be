// vigil-agent: the endpoint daemon. main only wires the subcommands (commands.h).

#include <malloc.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "agent/commands.h"
#include "core/version.h"

int main(int argc, char** argv) {
  // One malloc arena: the agent's threads (scheduler, workers, sender, presence) allocate little
  // and rarely; an arena per thread would cost megabytes of resident memory for nothing (P2).
  mallopt(M_ARENA_MAX, 1);
  CLI::App app{"vigil-agent: reports this machine's health to a Vigil server"};
  app.set_version_flag("--version", std::string("vigil-agent ") + vigil::kVersion);
  app.require_subcommand(0, 1);
  app.footer(
      "vigil-agent check exits 0 ok, 1 warning, 2 critical, 3 unknown (monitoring-plugin "
      "convention); 64 for bad input.");
  vigil::agent::CommandRunner runners[] = {vigil::agent::AddCheckCommand(app),
                                           vigil::agent::AddDaemonCommands(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help, version or the error
    return code == 0 ? 0 : 64;
  }
  for (auto& run : runners) {
    if (auto code = run()) {
      return *code;
    }
  }
  std::printf("%s", app.help().c_str());
  return 0;
}
