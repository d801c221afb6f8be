// vigil-agent: the endpoint daemon. This is the skeleton from the foundation issue; enrollment,
// collectors, the spool and the transport come with the agent issue.

#include <CLI/CLI.hpp>

#include <cstdio>

#include "core/version.h"

int main(int argc, char** argv) {
  CLI::App app{"vigil-agent: reports this machine's health to a Vigil server"};
  app.set_version_flag("--version", std::string("vigil-agent ") + vigil::kVersion);
  app.require_subcommand(0, 1);
  auto* run = app.add_subcommand("run", "run the agent in the foreground (not implemented yet)");
  CLI11_PARSE(app, argc, argv);
  if (run->parsed()) {
    std::fprintf(stderr, "vigil-agent: 'run' is not implemented yet (see the agent issue)\n");
    return 2;
  }
  std::printf("%s", app.help().c_str());
  return 0;
}
