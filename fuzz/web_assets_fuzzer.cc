// Fuzzes what a browser controls when it asks vigild for the web console's files: the path and
// the Accept-Encoding and If-None-Match headers (server::WebAssets::Serve). Must never crash or
// hang, never serve anything but the folder's files, and answer gzip only to a client that
// named it.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "server/web_assets.h"

namespace {

namespace fs = std::filesystem;

const vigil::server::WebAssets& Assets() {
  static const vigil::server::WebAssets* assets = [] {
    fs::path root = fs::temp_directory_path() / ("vigil-web-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(root / "assets");
    std::ofstream(root / "index.html") << "<!doctype html>";
    std::ofstream(root / "assets" / "app-1.js") << "app";
    std::ofstream(root / "assets" / "app-1.js.gz") << "gz";
    auto loaded = vigil::server::WebAssets::Load(root);
    fs::remove_all(root);
    if (!loaded) {
      std::abort();
    }
    return new vigil::server::WebAssets(std::move(*loaded));
  }();
  return *assets;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Three fields separated by NUL bytes: path, Accept-Encoding, If-None-Match.
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string fields[3];
  for (std::string& f : fields) {
    size_t end = in.find('\0');
    f = std::string(in.substr(0, end));
    in = end == std::string_view::npos ? std::string_view() : in.substr(end + 1);
  }
  vigil::net::HttpRequest req;
  req.method = "GET";
  req.target = req.path = "/" + fields[0];
  req.headers = {{"accept-encoding", fields[1]}, {"if-none-match", fields[2]}};
  auto resp = Assets().Serve(req);
  if (resp && resp->status == 200 && resp->body != "<!doctype html>" && resp->body != "app" &&
      resp->body != "gz") {
    std::abort();  // something that is not one of the folder's files
  }
  if (resp && resp->body == "gz" && fields[1].find("gzip") == std::string::npos &&
      fields[1].find('*') == std::string::npos) {
    std::abort();  // gzip to a client that did not ask for it
  }
  return 0;
}
