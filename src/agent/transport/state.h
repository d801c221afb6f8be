#pragma once

// The agent's state folder (default /var/lib/vigil-agent, mode 0700):
//   agent.json   who this agent is, written by `vigil-agent enroll` (mode 0600):
//                {"server_url":"https://rmm.example.com", "device_id":17, "credential":"vgd_...",
//                 "kind":"server", "pinned_public_key":"sha256//...", "ca_file":"",
//                 "verify_tls":true}
//                kind, pinned_public_key, ca_file and verify_tls are optional ("server", "", "",
//                true). verify_tls is false only after an enrollment with --insecure-skip-verify
//                (tests); the pinned key is then the only trust anchor.
//   config.json  the last AgentConfig received (written by the run loop, see config_store.h)
//   spool/       the Spool of result batches
//
// Files are written atomically (temporary file, fsync, rename, fsync of the folder) with mode
// 0600. The loader is strict: unknown keys, wrong types, a credential that is not one line, a
// URL that is not http(s), or an agent.json readable by group or others are refused with an
// error naming the file and the field.
//
// Thread safety: free functions; callers serialise writes of the same file.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vigil::agent::transport {

inline constexpr std::string_view kDefaultStateDir = "/var/lib/vigil-agent";
inline constexpr std::string_view kAgentFileName = "agent.json";
inline constexpr std::string_view kConfigFileName = "config.json";
inline constexpr std::string_view kSpoolDirName = "spool";

struct AgentState {
  std::string server_url;  // "https://rmm.example.com" (no trailing slash)
  int64_t device_id = 0;
  std::string credential;         // "vgd_..."
  std::string kind = "server";    // the device kind asked for at enrollment
  std::string pinned_public_key;  // "sha256//BASE64"; empty for http:// servers
  std::string ca_file;            // PEM bundle trusted instead of the system's, or ""
  bool verify_tls = true;
  bool operator==(const AgentState&) const = default;
};

// Creates `dir` (and parents) if needed and makes it mode 0700.
// Errors: kUnavailable when it cannot be created or chmod'ed.
Status EnsureStateDir(const std::string& dir);

// Writes `data` to `path` atomically with mode 0600. Errors: kUnavailable.
Status WritePrivateFile(const std::string& path, std::string_view data);
// Reads a whole file of at most `max_bytes`. Errors: kNotFound when it does not exist;
// kPayloadTooLarge when larger; kUnavailable for other I/O errors.
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes);

std::string EncodeAgentState(const AgentState& state);
// Errors: kInvalidArgument naming every wrong field.
Result<AgentState> DecodeAgentState(std::string_view text);

// Writes <dir>/agent.json (EnsureStateDir first). Errors: kUnavailable.
Status SaveAgentState(const std::string& dir, const AgentState& state);
// Reads <dir>/agent.json. Errors: kNotFound (not enrolled), kPermissionDenied when the file is
// readable by group or others, kInvalidArgument for a malformed file (message names the file),
// kUnavailable for I/O errors.
Result<AgentState> LoadAgentState(const std::string& dir);

// "https://host:8443/base" -> its parts. Errors: kInvalidArgument for another scheme, a missing
// host or a bad port.
struct ServerAddress {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  std::string base_path;  // "" or "/base" (no trailing slash)
};
Result<ServerAddress> ParseServerUrl(std::string_view url);

}  // namespace vigil::agent::transport
