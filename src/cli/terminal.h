#pragma once

// Reading secrets for the CLI: from stdin (scripts, --password-stdin) or from the controlling
// terminal with echo off (people). Nothing here reads the terminal unless asked to.
//
// Thread safety: one caller at a time (the terminal mode is process-wide).

#include <string>

#include "core/status.h"

namespace vigil::cli {

// Reads all of stdin (up to 64 KiB) and drops one trailing "\n" or "\r\n".
// Errors: kInvalidArgument when stdin is empty or larger than 64 KiB; kUnavailable on a read error.
Result<std::string> ReadSecretFromStdin();

// True when the process has a controlling terminal that can be opened for a prompt.
bool HaveTerminal();

// Writes `prompt` to /dev/tty and reads one line from it with echo off (restored afterwards, also
// on error). Errors: kUnavailable when there is no terminal; kInvalidArgument for an empty line.
Result<std::string> PromptSecret(const std::string& prompt);

// Like PromptSecret but echoes what is typed (for a two-factor code).
Result<std::string> PromptLine(const std::string& prompt);

}  // namespace vigil::cli
