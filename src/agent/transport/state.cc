#include "agent/transport/state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/json.h"

namespace vigil::agent::transport {
namespace {

Status Errno(std::string_view what, const std::string& path) {
  return Unavailable(std::string(what) + " " + path + ": " + std::strerror(errno));
}

std::string Join(const std::string& dir, std::string_view name) {
  return dir + "/" + std::string(name);
}

constexpr size_t kMaxAgentFileBytes = 64 << 10;

}  // namespace

Status EnsureStateDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Unavailable("cannot create " + dir + ": " + ec.message());
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return Errno("cannot chmod", dir);
  }
  return Status::Ok();
}

Status WritePrivateFile(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Errno("cannot create", tmp);
  }
  // The mode given to open() applies to new files only.
  bool ok = ::fchmod(fd, 0600) == 0;
  size_t done = 0;
  while (ok && done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    ok = n > 0;
    done += ok ? static_cast<size_t>(n) : 0;
  }
  ok = ok && ::fsync(fd) == 0;
  Status failure = ok ? Status::Ok() : Errno("cannot write", tmp);
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return failure;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("cannot rename over", path);
    ::unlink(tmp.c_str());
    return s;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return NotFound(path + " does not exist");
    }
    return Errno("cannot open", path);
  }
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      Status s = Errno("cannot read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return PayloadTooLarge(path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  ::close(fd);
  return out;
}

std::string EncodeAgentState(const AgentState& state) {
  json::Json j = {{"server_url", state.server_url},
                  {"device_id", state.device_id},
                  {"credential", state.credential},
                  {"kind", state.kind},
                  {"pinned_public_key", state.pinned_public_key},
                  {"ca_file", state.ca_file},
                  {"verify_tls", state.verify_tls}};
  return j.dump(2) + "\n";
}

Result<AgentState> DecodeAgentState(std::string_view text) {
  VIGIL_ASSIGN_OR_RETURN(json::Json j, json::ParseObject(text));
  json::ObjectReader r(j);
  AgentState s;
  s.server_url = r.String("server_url", 8, 2048);
  s.device_id = r.Int("device_id", 1, INT64_MAX);
  s.credential = r.String("credential", 1, 512);
  s.kind = r.OptEnum("kind", {"server", "workstation"}).value_or("server");
  s.pinned_public_key = r.OptString("pinned_public_key", 0, 128).value_or("");
  s.ca_file = r.OptString("ca_file", 0, 4096).value_or("");
  s.verify_tls = r.OptBool("verify_tls").value_or(true);
  if (!s.server_url.empty() && !ParseServerUrl(s.server_url).has_value()) {
    r.AddError("server_url", "must be an http:// or https:// URL with a host");
  }
  if (!s.pinned_public_key.empty() && s.pinned_public_key.rfind("sha256//", 0) != 0) {
    r.AddError("pinned_public_key", "must start with \"sha256//\"");
  }
  for (char c : s.credential) {
    if (c <= ' ' || c == 0x7f) {
      r.AddError("credential", "must not contain spaces or control characters");
      break;
    }
  }
  VIGIL_RETURN_IF_ERROR(r.Finish());
  return s;
}

Status SaveAgentState(const std::string& dir, const AgentState& state) {
  VIGIL_RETURN_IF_ERROR(EnsureStateDir(dir));
  return WritePrivateFile(Join(dir, kAgentFileName), EncodeAgentState(state));
}

Result<AgentState> LoadAgentState(const std::string& dir) {
  std::string path = Join(dir, kAgentFileName);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return NotFound(path + " does not exist: run `vigil-agent enroll` first");
    }
    return Errno("cannot stat", path);
  }
  if ((st.st_mode & 077) != 0) {
    return PermissionDenied(path + " is readable by group or others: chmod 600 it");
  }
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, kMaxAgentFileBytes));
  auto state = DecodeAgentState(text);
  if (!state.has_value()) {
    Status s(ErrorCode::kInvalidArgument, path + ": " + state.error().ToString());
    return s;
  }
  return state;
}

Result<ServerAddress> ParseServerUrl(std::string_view url) {
  ServerAddress a;
  std::string_view rest;
  if (url.rfind("https://", 0) == 0) {
    a.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return InvalidArgument("server URL must start with http:// or https://");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') {
    path.remove_suffix(1);
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    return InvalidArgument("server URL must not have a query or fragment");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgument("server URL has an unterminated IPv6 address");
    }
    a.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return InvalidArgument("server URL has a malformed host");
      }
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.find(':');
    a.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
    }
  }
  if (a.host.empty() || a.host.find_first_of("@ \t") != std::string::npos) {
    return InvalidArgument("server URL has no valid host");
  }
  a.port = a.tls ? 443 : 80;
  if (!port_text.empty() || authority.back() == ':') {
    if (port_text.empty() || port_text.size() > 5) {
      return InvalidArgument("server URL has a malformed port");
    }
    unsigned v = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9') {
        return InvalidArgument("server URL has a malformed port");
      }
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535) {
      return InvalidArgument("server URL port must be 1..65535");
    }
    a.port = static_cast<uint16_t>(v);
  }
  a.base_path = std::string(path);
  return a;
}

}  // namespace vigil::agent::transport
