#pragma once

// HttpClient: a small blocking HTTP/1.1 client (http and https) on Boost.Beast/Asio and OpenSSL,
// for the CLI, the agent and tests.
//
// Every request is bounded by `timeout` as a whole (name resolution, connect, TLS handshake,
// write, read): a server that accepts and never answers cannot hold the caller longer. With
// https, the server's certificate is verified against the system's CAs (or ca_file) and the URL's
// host name (SNI is sent), unless verify_tls is false; a pinned public key is checked on every new
// TLS connection, even when verify_tls is false.
//
// Thread safety: one HttpClient per thread; cheap to create. Ownership: the client owns a private
// io_context and at most one open connection (the last server it talked to); responses are plain
// values. The destructor may wait for a name resolution that timed out to end (getaddrinfo
// cannot be interrupted).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "net/http.h"

typedef struct x509_st X509;  // NOLINT(modernize-use-using): OpenSSL's own declaration

namespace vigil::net {

// "sha256//" + base64(SHA-256 of the DER SubjectPublicKeyInfo) of `cert`: the form of
// ClientOptions::pinned_public_key (and of libcurl's CURLOPT_PINNEDPUBLICKEY); "" when the
// certificate has no usable key. The agent records it at enrollment (agent/transport/pin.h).
std::string SpkiPin(X509* cert);

struct ClientOptions {
  std::chrono::milliseconds timeout{30'000};
  std::string ca_file;     // PEM bundle to trust instead of the system's
  bool verify_tls = true;  // false only for tests against self-signed servers
  // "sha256//BASE64" of the server certificate's DER SubjectPublicKeyInfo (several separated by
  // ';'), or empty. A TLS connection to a server presenting another key is refused.
  std::string pinned_public_key;
  // A response body past this is refused (kResourceExhausted). Never more than 64 MiB.
  size_t max_response_bytes = size_t{64} << 20;
};

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request to an absolute "http://" or "https://" URL (host name, IPv4 or [IPv6]
  // literal, optional port, path and query; no user info) and returns the final response, whatever
  // its status. Content-Length is set from `body` (always for POST, PUT and PATCH); Host and
  // "Accept: */*" are added unless given. Keeps the connection alive between calls to the same
  // scheme, host and port; a kept-alive connection the server has closed meanwhile is replaced
  // before the request is written, but a request that may have reached the server is never sent
  // twice. Errors: kUnavailable when the server cannot be reached, TLS fails (certificate, host
  // name, pin, unreadable ca_file), the connection breaks or the request times out;
  // kInvalidArgument for a malformed URL, method, header or pinned_public_key;
  // kResourceExhausted when the response body is larger than max_response_bytes. After any error
  // the connection is dropped and the client remains usable.
  Result<HttpResponse> Send(std::string_view method, const std::string& url, const Headers& headers,
                            std::string_view body = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ClientOptions options_;
};

}  // namespace vigil::net
