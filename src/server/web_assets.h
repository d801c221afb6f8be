#pragma once

// The web console and client portal as files: what Vite builds from web/ into web/dist, served
// by vigild itself (no separate web server).
//
// Every regular file under the root is read once, at start, and served from memory: a request
// can reach nothing but what was loaded (no path is ever joined to the root at request time),
// and a deployment swaps the files atomically by restarting vigild.
//
//   GET /assets/index-3f2a9c.js  the file; content-hashed names under /assets/ are cached for a
//                                year ("immutable"), everything else is revalidated by ETag
//   GET /devices/42              index.html: a path whose last segment has no extension belongs
//                                to the single-page app, which routes it in the browser
//   GET /favicon-missing.png     404 (a missing file is not the app)
//
// A "name.gz" next to "name" is sent instead of it, with Content-Encoding: gzip, to clients that
// accept gzip. Security headers (CSP and others) are App::Decorate's, as for every response.
//
// Thread safety: immutable after Load; Serve may be called from any thread.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/status.h"
#include "net/http.h"

namespace vigil::server {

class WebAssets {
 public:
  // All the files together may not be larger than this (the console's budget is far smaller).
  static constexpr uintmax_t kMaxTotalBytes = 64 << 20;

  // Errors: kInvalidArgument when `root` is not a folder or has no index.html;
  // kFailedPrecondition past kMaxTotalBytes; kUnavailable when a file cannot be read.
  static Result<WebAssets> Load(const std::filesystem::path& root);

  // The response to a GET or HEAD of `req.path` (outside /api/), or nullopt when there is no
  // such file (the caller answers 404).
  std::optional<net::HttpResponse> Serve(const net::HttpRequest& req) const;

  size_t file_count() const { return files_.size(); }

 private:
  struct File {
    std::string body;
    std::string gzip;  // empty: no compressed copy
    std::string content_type;
    std::string etag;
    bool immutable = false;
  };
  std::unordered_map<std::string, File> files_;  // by URL path: "/assets/index-3f2a9c.js"
};

}  // namespace vigil::server
