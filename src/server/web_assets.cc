#include "server/web_assets.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string_view>
#include <system_error>

#include "crypto/crypto.h"

namespace vigil::server {
namespace {

namespace fs = std::filesystem;

std::string ContentType(const fs::path& file) {
  static const std::unordered_map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  auto it = kTypes.find(file.extension().string());
  return it != kTypes.end() ? it->second : "application/octet-stream";
}

Result<std::string> ReadAll(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return Unavailable(fmt::format("cannot read {}", file.string()));
  }
  return body;
}

// True when `accept` (an Accept-Encoding value) names gzip without refusing it ("gzip;q=0").
bool AcceptsGzip(std::string_view accept) {
  size_t pos = 0;
  while (pos <= accept.size()) {
    size_t end = accept.find(',', pos);
    std::string_view item = accept.substr(pos, end == std::string_view::npos ? end : end - pos);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    std::string_view name = item.substr(0, item.find(';'));
    while (!name.empty() && name.back() == ' ') {
      name.remove_suffix(1);
    }
    if (name == "gzip" || name == "*") {
      std::string_view params = item.substr(name.size());
      size_t q = params.find("q=");
      if (q == std::string_view::npos) {
        return true;
      }
      std::string weight(params.substr(q + 2, 5));
      return std::strtod(weight.c_str(), nullptr) > 0;
    }
    if (end == std::string_view::npos) {
      break;
    }
    pos = end + 1;
  }
  return false;
}

}  // namespace

Result<WebAssets> WebAssets::Load(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return InvalidArgument(fmt::format("web folder {} is not a folder", root.string()));
  }
  WebAssets out;
  uintmax_t total = 0;
  std::unordered_map<std::string, std::string> compressed;  // URL path of the original → gzip
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    // Only regular files, and no symbolic links: nothing outside the folder is ever served.
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) {
      continue;
    }
    total += it->file_size(ec);
    if (total > kMaxTotalBytes) {
      return FailedPrecondition(
          fmt::format("web folder {} holds more than {} MB", root.string(), kMaxTotalBytes >> 20));
    }
    std::string url = "/" + fs::relative(it->path(), root, ec).generic_string();
    VIGIL_ASSIGN_OR_RETURN(std::string body, ReadAll(it->path()));
    if (it->path().extension() == ".gz") {
      compressed[url.substr(0, url.size() - 3)] = std::move(body);
      continue;
    }
    File f;
    f.content_type = ContentType(it->path());
    f.etag = "\"" + crypto::Sha256Hex(body).substr(0, 32) + "\"";
    f.immutable = url.rfind("/assets/", 0) == 0;
    f.body = std::move(body);
    out.files_.emplace(std::move(url), std::move(f));
  }
  if (ec) {
    return Unavailable(fmt::format("cannot list web folder {}: {}", root.string(), ec.message()));
  }
  if (out.files_.count("/index.html") == 0) {
    return InvalidArgument(fmt::format("web folder {} has no index.html", root.string()));
  }
  for (auto& [url, gzip] : compressed) {
    if (auto it = out.files_.find(url); it != out.files_.end()) {
      it->second.gzip = std::move(gzip);
    }
  }
  return out;
}

std::optional<net::HttpResponse> WebAssets::Serve(const net::HttpRequest& req) const {
  std::string_view path = req.path;
  auto it = files_.find(std::string(path == "/" ? "/index.html" : path));
  if (it == files_.end()) {
    // A path of the app ("/devices/42") loads the app; a missing file ("/logo.png") is a 404.
    std::string_view last = path.substr(path.rfind('/') + 1);
    if (last.find('.') != std::string_view::npos) {
      return std::nullopt;
    }
    it = files_.find("/index.html");
  }
  const File& f = it->second;
  net::HttpResponse resp;
  resp.SetHeader("content-type", f.content_type);
  resp.SetHeader("cache-control", f.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  const bool gzip = !f.gzip.empty() && AcceptsGzip(req.Header("accept-encoding").value_or(""));
  if (!f.gzip.empty()) {
    resp.SetHeader("vary", "accept-encoding");
  }
  // Each encoding is its own representation, with its own entity tag.
  const std::string etag = gzip ? f.etag.substr(0, f.etag.size() - 1) + "-gzip\"" : f.etag;
  resp.SetHeader("etag", etag);
  if (auto match = req.Header("if-none-match"); match && *match == etag) {
    resp.status = 304;
    return resp;
  }
  if (gzip) {
    resp.SetHeader("content-encoding", "gzip");
  }
  resp.body = gzip ? f.gzip : f.body;  // for HEAD the HTTP server sends its length, not it
  return resp;
}

}  // namespace vigil::server
