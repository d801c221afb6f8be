#pragma once

// The `vigil` command tree: each leaf command is a Handler registered on a CLI11 subcommand.
// main.cc builds the tree (Add*Commands), parses the command line, and runs the one selected
// handler with a Context holding the global flags; a failed Status becomes one line on stderr and
// an exit code (ExitCodeFor).
//
// Handlers never throw: CLI11 exceptions stay in main.cc, nlohmann-json is used only on values that
// were parsed without exceptions and accessed through checked lookups.
//
// Thread safety: single-threaded, like the CLI.

#include <CLI/CLI.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/api_client.h"
#include "cli/config.h"
#include "cli/table.h"
#include "core/status.h"

namespace vigil::cli {

// Exit codes, documented in `vigil --help`.
enum class ExitCode : int {
  kOk = 0,
  kRefused = 1,           // the server said no (4xx other than those below)
  kUsage = 2,             // bad flags or arguments
  kUnauthenticated = 3,   // 401, or no server / token configured
  kPermissionDenied = 4,  // 403
  kNotFound = 5,          // 404
  kConflict = 6,          // 409
  kUnavailable = 7,       // server unreachable, 5xx, or an invalid response
};

// The exit code for a failed command (see ApiClient::Call for how answers map to codes).
ExitCode ExitCodeFor(const Status& status);

struct GlobalFlags {
  std::string server;
  std::string token;
  std::string config;
  std::string ca_file;
  bool insecure = false;
  bool json = false;
  int timeout_seconds = 30;
};

class Context {
 public:
  explicit Context(const GlobalFlags& flags) : flags_(flags) {}

  const GlobalFlags& flags() const { return flags_; }
  bool json() const { return flags_.json; }

  // The config file path and its contents (read once).
  // Errors: see ConfigPath and ReadConfigFile (kInvalidArgument, kUnavailable).
  Result<std::string> ConfigFilePath();
  Result<Json> ConfigFile();
  // Server and token from flags, environment and file.
  Result<Config> ResolvedConfig();

  // A client for the configured server, with the configured token.
  // Errors: kUnauthenticated when no server is configured, or when `need_token` and no token is;
  // kInvalidArgument for a malformed server URL; those of ConfigFile.
  Result<ApiClient*> Api(bool need_token = true);
  // A client for `server`, without credentials (for `vigil login`).
  Result<ApiClient*> ApiWithoutCredentials(const std::string& server);

  // Output. Print writes to stdout as is; PrintJson pretty-prints; Note writes a human hint to
  // stdout, or to stderr in --json mode so stdout stays pure JSON.
  void Print(std::string_view text) const;
  void PrintJson(const Json& j) const;
  void Note(std::string_view text) const;

  // The problem body of the failure (printed in --json mode): the one kept with KeepProblem, else
  // the last call's.
  void KeepProblem(const Json& problem) { kept_problem_ = problem; }
  Json FailureProblem() const;

 private:
  GlobalFlags flags_;
  std::optional<std::string> config_path_;
  std::optional<Json> config_file_;
  std::unique_ptr<ApiClient> api_;
  std::optional<Json> kept_problem_;
};

using Handler = std::function<Status(Context&)>;

// Records which leaf command was parsed.
class Registry {
 public:
  // Adds leaf command `name` under `parent`; `handler` runs when it is the one chosen.
  CLI::App* Add(CLI::App& parent, const std::string& name, const std::string& description,
                Handler handler);
  // A group of commands ("clients"); one of its subcommands is required.
  CLI::App* Group(CLI::App& parent, const std::string& name, const std::string& description);

  const Handler* selected() const { return selected_; }
  // "clients create": the words naming the chosen command, or empty.
  const std::string& selected_name() const { return selected_name_; }

 private:
  std::vector<std::unique_ptr<Handler>> handlers_;
  const Handler* selected_ = nullptr;
  std::string selected_name_;
};

// "clients create" for a subcommand (the words below the root).
std::string CommandPath(const CLI::App* app);

// ---- helpers for command implementations

// --limit, --offset, --sort (and --q when `search`) for list commands.
struct ListFlags {
  int64_t limit = 0;  // 0: the server's default
  int64_t offset = 0;
  std::string sort;
  std::string q;
};
void AddListFlags(CLI::App* cmd, ListFlags& flags, const std::string& sort_keys, bool search);
void AddListQuery(QueryString& qs, const ListFlags& flags);

// Prints a page {"items": [...], "total": N, "limit": L, "offset": O}: the JSON in --json mode,
// else a table and a line with the total and how to get the next page.
// Errors: kInternal when the answer has no "items" list (nothing is printed then).
Status PrintPage(Context& ctx, const Json& page, const std::vector<Column>& columns,
                 std::string_view noun_plural);
// Prints one object: the JSON in --json mode, else "key: value" lines (`first` keys first).
// Errors: kInternal when the answer is not an object (nothing is printed then).
Status PrintObject(Context& ctx, const Json& obj, const std::vector<std::string>& first = {});

// The string or integer id at `key` of an answer, for messages ("12"), or "?".
std::string IdOf(const Json& obj, const char* key = "id");
// A string member of an answer (dotted path), or "".
std::string StringOf(const Json& obj, const char* key);
// A boolean member of an answer (dotted path); false when missing or not a boolean.
bool BoolOf(const Json& obj, const char* key);

// The fields of a create/update body, each sent only when its flag was given (so an update
// changes only what was named). Keys with a dot nest: "downtime_cost.per_hour_minor".
class BodyFields {
 public:
  CLI::Option* String(CLI::App* cmd, const std::string& flag, std::string key,
                      const std::string& help);
  CLI::Option* Int(CLI::App* cmd, const std::string& flag, std::string key, const std::string& help,
                   int64_t min, int64_t max);
  // A flag pair such as "--primary,!--no-primary": true or false.
  CLI::Option* Bool(CLI::App* cmd, const std::string& flags, std::string key,
                    const std::string& help);
  // A flag that sends a fixed value ("--no-site" sends site_id: null).
  CLI::Option* Constant(CLI::App* cmd, const std::string& flag, std::string key, Json value,
                        const std::string& help);

  bool any() const;
  Json Build() const;

 private:
  struct Field {
    std::string key;
    CLI::Option* option;
    std::function<Json()> value;
  };
  // Deques: CLI11 keeps pointers to these values, so they must not move.
  std::deque<std::string> strings_;
  std::deque<int64_t> ints_;
  std::deque<bool> bools_;
  std::vector<Field> fields_;
};

// A positional ID argument (a positive integer).
CLI::Option* AddIdArg(CLI::App* cmd, int64_t& id, const std::string& name, const std::string& what);

// login logout whoami health; `login --server` sets `global.server`.
void AddSessionCommands(CLI::App& app, Registry& reg, GlobalFlags& global);
void AddAdminCommands(CLI::App& app, Registry& reg);   // tokens audit backup
void AddClientCommands(CLI::App& app, Registry& reg);  // clients sites contacts
void AddUserCommands(CLI::App& app, Registry& reg);    // users
void AddDeviceCommands(CLI::App& app, Registry& reg);  // enrollment-tokens devices

// Usage error for an update without any field flag.
Status NothingToUpdate();

}  // namespace vigil::cli
