#pragma once

// HttpClient: a small blocking HTTP(S) client on libcurl, for the CLI, the agent and tests.
//
// Thread safety: one HttpClient per thread; cheap to create. Ownership: the client owns one libcurl
// easy handle (and so its connection cache); responses are plain values.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "net/http.h"

namespace vigil::net {

struct ClientOptions {
  std::chrono::milliseconds timeout{30'000};
  std::string ca_file;            // PEM bundle to trust instead of the system's
  bool verify_tls = true;         // false only for tests against self-signed servers
  std::string pinned_public_key;  // "sha256//BASE64" (libcurl CURLOPT_PINNEDPUBLICKEY) or empty
  // A response body past this is refused (kResourceExhausted). Never more than 64 MiB.
  size_t max_response_bytes = size_t{64} << 20;
};

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and returns the response, whatever its status. Keeps the connection alive
  // between calls. Errors: kUnavailable when the server cannot be reached or the request times
  // out; kInvalidArgument for a malformed URL, method or header; kResourceExhausted when the
  // response body is larger than max_response_bytes (the connection is dropped). After an error the
  // client remains usable.
  Result<HttpResponse> Send(std::string_view method, const std::string& url, const Headers& headers,
                            std::string_view body = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ClientOptions options_;
};

}  // namespace vigil::net
