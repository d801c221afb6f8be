#pragma once

// The CLI's settings: which vigild to talk to and with which API token.
//
// Sources, first one wins per value: the flags --server / --token, the environment (VIGIL_SERVER,
// VIGIL_TOKEN), then the config file. The config file is --config FILE, else $VIGIL_CONFIG, else
// $XDG_CONFIG_HOME/vigil/config.json, else ~/.config/vigil/config.json. It is a JSON object
// {"server": "...", "token": "..."}; other keys are kept when the CLI rewrites it.
//
// The file holds a secret: it is written with mode 0600 (its folder 0700), through a temporary
// file renamed over the old one, so a crash never leaves half a file.
//
// Thread safety: plain functions and values.

#include <string>

#include "core/json.h"
#include "core/status.h"

namespace vigil::cli {

struct Config {
  std::string server;  // base URL without a trailing slash: "https://vigil.example.com"
  std::string token;   // API token secret ("vgl_..."), or empty
};

// The config file to use: `flag` when not empty, else $VIGIL_CONFIG, else the XDG default.
// Errors: kInvalidArgument when neither HOME nor XDG_CONFIG_HOME is set and no path was given.
Result<std::string> ConfigPath(const std::string& flag);

// Reads the config file as a JSON object. A missing file is an empty object.
// Errors: kInvalidArgument when the file is not a JSON object or "server"/"token" are not strings;
// kUnavailable when it exists but cannot be read.
Result<json::Json> ReadConfigFile(const std::string& path);

// Writes `doc` (a JSON object) to `path` with mode 0600, creating the folder (0700) if needed.
// Errors: kUnavailable when the folder or file cannot be written; the old file is then unchanged.
Status WriteConfigFile(const std::string& path, const json::Json& doc);

// The server and token from flags, environment and the file's contents, in that order. The
// file's token is used only with the file's server (never sent to a server named elsewhere).
// `file` is what ReadConfigFile returned.
Config ResolveConfig(const std::string& server_flag, const std::string& token_flag,
                     const json::Json& file);

// "http://host:8080/" -> "http://host:8080". Errors: kInvalidArgument unless the URL starts with
// http:// or https:// and names a host.
Result<std::string> NormalizeServerUrl(std::string url);

}  // namespace vigil::cli
