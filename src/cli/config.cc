#include "cli/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace vigil::cli {
namespace {

constexpr size_t kMaxConfigBytes = 64 << 10;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

std::string StringField(const json::Json& doc, const char* key) {
  if (!doc.is_object()) {
    return "";
  }
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_string()) {
    return "";
  }
  return it->get<std::string>();
}

Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Unavailable(std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> ConfigPath(const std::string& flag) {
  if (!flag.empty()) {
    return flag;
  }
  if (std::string env = Env("VIGIL_CONFIG"); !env.empty()) {
    return env;
  }
  if (std::string xdg = Env("XDG_CONFIG_HOME"); !xdg.empty() && xdg[0] == '/') {
    return xdg + "/vigil/config.json";
  }
  if (std::string home = Env("HOME"); !home.empty()) {
    return home + "/.config/vigil/config.json";
  }
  return InvalidArgument("cannot find a place for the config file: set HOME or use --config");
}

Result<json::Json> ReadConfigFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return json::Json::object();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Unavailable("cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  json::ParseLimits limits;
  limits.max_bytes = kMaxConfigBytes;
  auto doc = json::ParseObject(text.str(), limits);
  if (!doc) {
    return InvalidArgument(path + " is not a valid config file (" + doc.error().message() + ")");
  }
  for (const char* key : {"server", "token"}) {
    auto it = doc->find(key);
    if (it != doc->end() && !it->is_string()) {
      return InvalidArgument(path + ": \"" + key + "\" must be a string");
    }
  }
  return doc;
}

Status WriteConfigFile(const std::string& path, const json::Json& doc) {
  namespace fs = std::filesystem;
  fs::path file(path);
  fs::path dir = file.parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
      fs::create_directories(dir, ec);
      if (ec) {
        return Unavailable("cannot create " + dir.string() + ": " + ec.message());
      }
      fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    }
  }
  std::string text = doc.dump(2, ' ', false, json::Json::error_handler_t::replace) + "\n";
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return Unavailable("cannot write " + tmp + ": " + std::strerror(errno));
  }
  // The file may have existed with a wider mode: narrow it before the secret goes in.
  Status st = ::fchmod(fd, 0600) == 0 ? Status::Ok() : Unavailable(std::strerror(errno));
  if (st.ok()) {
    st = WriteAll(fd, text);
  }
  if (st.ok() && ::fsync(fd) != 0) {
    st = Unavailable(std::strerror(errno));
  }
  if (::close(fd) != 0 && st.ok()) {
    st = Unavailable(std::strerror(errno));
  }
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Unavailable(std::strerror(errno));
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return Unavailable("cannot write " + path + ": " + st.message());
  }
  return Status::Ok();
}

Config ResolveConfig(const std::string& server_flag, const std::string& token_flag,
                     const json::Json& file) {
  auto strip = [](std::string url) {
    while (!url.empty() && url.back() == '/') {
      url.pop_back();
    }
    return url;
  };
  const std::string file_server = StringField(file, "server");
  Config c;
  c.server = !server_flag.empty() ? server_flag : Env("VIGIL_SERVER");
  if (c.server.empty()) {
    c.server = file_server;
  }
  c.token = !token_flag.empty() ? token_flag : Env("VIGIL_TOKEN");
  // The saved token belongs to the saved server: never send it to another one.
  if (c.token.empty() && strip(c.server) == strip(file_server)) {
    c.token = StringField(file, "token");
  }
  return c;
}

Result<std::string> NormalizeServerUrl(std::string url) {
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = std::string_view(url).substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = std::string_view(url).substr(8);
  } else {
    return InvalidArgument("the server URL must start with http:// or https:// (got \"" + url +
                           "\")");
  }
  if (rest.empty() || rest.front() == '/' || rest.find_first_of("?# \t\r\n") != rest.npos) {
    return InvalidArgument("\"" + url + "\" is not a valid server URL");
  }
  return url;
}

}  // namespace vigil::cli
