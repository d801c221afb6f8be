// vigil: the command-line client of vigild's JSON API. Builds the command tree, parses the command
// line (CLI11's exceptions end here), runs the chosen command and turns its Status into one line on
// stderr and an exit code.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "cli/commands.h"
#include "core/version.h"

namespace {

using vigil::cli::ExitCode;

constexpr const char* kFooter =
    R"(Global options, before or after the command words: --server --token --config --insecure
--ca --json --timeout --version.

Configuration: --server/--token, else VIGIL_SERVER/VIGIL_TOKEN, else the config
file written by `vigil login`: --config FILE, else $VIGIL_CONFIG, else
$XDG_CONFIG_HOME/vigil/config.json or ~/.config/vigil/config.json.

Exit codes:
  0  success
  1  the server refused the request (4xx other than those below)
  2  usage error (bad flags or arguments)
  3  not authenticated (401), or no server or token configured
  4  permission denied (403)
  5  not found (404)
  6  conflict (409)
  7  server unreachable, server error (5xx) or invalid response
)";

// The first command word of argv when it names no command ("vigil bogus"), else "".
std::string UnknownCommand(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.empty() || arg[0] == '-') {
      // Global options that take a value as the next word.
      if (arg == "--server" || arg == "--token" || arg == "--config" || arg == "--ca" ||
          arg == "--timeout") {
        ++i;
      }
      continue;
    }
    auto known = app.get_subcommands([&](CLI::App* sub) { return sub->check_name(argv[i]); });
    return known.empty() ? std::string(arg.substr(0, 64)) : std::string();
  }
  return "";
}

int Run(int argc, char** argv) {
  CLI::App app{"vigil: command-line client for the Vigil API", "vigil"};
  app.set_version_flag("--version", std::string("vigil ") + vigil::kVersion,
                       "print the version and exit");
  app.set_help_all_flag("--help-all", "print help for every command and exit");
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the command words: vigil clients list --json
  app.footer(kFooter);

  vigil::cli::GlobalFlags flags;
  app.add_option("--server", flags.server, "vigild address, e.g. https://vigil.example.com");
  app.add_option("--token", flags.token, "API token (prefer VIGIL_TOKEN or the config file)");
  app.add_option("--config", flags.config, "config file (default: see below)");
  app.add_flag("--insecure", flags.insecure,
               "do not verify the server's TLS certificate (self-signed test servers only)");
  app.add_option("--ca", flags.ca_file, "PEM file of CA certificates to trust")
      ->check(CLI::ExistingFile);
  app.add_flag("--json", flags.json, "print the server's JSON (pretty-printed) instead of tables");
  app.add_option("--timeout", flags.timeout_seconds, "seconds to wait for the server")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();

  vigil::cli::Registry reg;
  vigil::cli::AddSessionCommands(app, reg, flags);
  vigil::cli::AddClientCommands(app, reg);
  vigil::cli::AddDeviceCommands(app, reg);
  vigil::cli::AddUserCommands(app, reg);
  vigil::cli::AddAdminCommands(app, reg);

  if (argc <= 1) {
    std::fputs(app.help().c_str(), stderr);
    return static_cast<int>(ExitCode::kUsage);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e);  // --help, --help-all, --version: printed to stdout
    }
    std::string words;  // the command words parsed so far: "clients create"
    for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
      sub = sub->get_subcommands().front();
      words += words.empty() ? sub->get_name() : " " + sub->get_name();
    }
    if (words.empty()) {
      if (std::string unknown = UnknownCommand(app, argc, argv); !unknown.empty()) {
        std::fprintf(stderr, "vigil: '%s' is not a vigil command\nRun 'vigil --help' for usage.\n",
                     unknown.c_str());
        return static_cast<int>(ExitCode::kUsage);
      }
    }
    std::string help = words.empty() ? "vigil --help" : "vigil " + words + " --help";
    std::fprintf(stderr, "vigil: %s%s\nRun '%s' for usage.\n",
                 words.empty() ? "" : (words + ": ").c_str(), e.what(), help.c_str());
    return static_cast<int>(ExitCode::kUsage);
  }

  const vigil::cli::Handler* handler = reg.selected();
  if (handler == nullptr) {
    std::fputs(app.help().c_str(), stderr);
    return static_cast<int>(ExitCode::kUsage);
  }
  vigil::cli::Context ctx(flags);
  vigil::Status status;
  try {
    status = (*handler)(ctx);
  } catch (const std::exception& e) {
    // Not expected (handlers do not throw), but never let a stack trace reach the user.
    status = vigil::Internal(std::string("unexpected error: ") + e.what());
  }
  std::fflush(stdout);
  if (status.ok()) {
    return 0;
  }
  if (flags.json) {
    if (vigil::cli::Json problem = ctx.FailureProblem(); !problem.is_null()) {
      ctx.PrintJson(problem);
      std::fflush(stdout);
    }
  }
  std::fprintf(stderr, "vigil: %s: %s\n", reg.selected_name().c_str(),
               vigil::cli::SanitizeLine(status.message(), 1000).c_str());
  return static_cast<int>(vigil::cli::ExitCodeFor(status));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vigil: unexpected error: %s\n", e.what());
    return static_cast<int>(ExitCode::kUnavailable);
  }
}
