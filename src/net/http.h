#pragma once

// HttpServer: Vigil's HTTP/1.1 server on Boost.Beast (the only place Beast/Asio is instantiated).
//
// Who calls it: vigild's main wires one HttpServer to the API router. The server parses requests
// on its I/O threads and hands each complete request to `Handler` on a bounded worker pool
// (handlers may block on the database or Argon2id); the response is written back on the
// connection's strand.
//
// Limits: header bytes, body bytes, read/write timeouts and an idle keep-alive timeout. A request
// past a limit gets a problem+json response (413 body too large, 431 headers too large, 408 read
// timeout, 400 malformed request or path, 503 when max_queued_requests are already waiting)
// generated here and passed through `decorate`, then the connection is closed.
// Keep-alive is honoured; pipelined requests are answered in order.
//
// Shutdown(): stops accepting, lets in-flight requests finish (up to a grace period), then closes
// idle connections. Safe to call from a signal-handling thread and more than once.
//
// TLS: when cert and key files are given, every connection is TLS (TLS 1.2+); HttpRequest::tls is
// true then.
//
// Thread safety: Run() is called once; port(), Shutdown() may be called from any thread.
// Ownership: destroy the server only after Run() has returned (or if it never ran). A handler that
// never returns keeps Run() from returning: past shutdown_grace its connection is closed, but the
// worker thread running it is still joined.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace vigil::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received: "/api/v1/clients?limit=5"
  std::string path;    // target up to '?', percent-decoded
  std::string query;   // after '?', raw
  Headers headers;     // names lower-cased
  std::string body;
  std::string remote_address;  // "127.0.0.1"
  bool tls = false;
  bool keep_alive = true;

  // First header with this (lower-case) name.
  std::optional<std::string_view> Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  Headers headers;  // e.g. {"content-type", "application/json"}
  std::string body;

  void SetHeader(std::string name, std::string value);
  std::optional<std::string_view> Header(std::string_view lower_name) const;
};

// Called on a worker thread; may block. Must not throw (exceptions become 500).
using Handler = std::function<HttpResponse(const HttpRequest&)>;
// Called on every response just before it is written, including the ones the server itself makes
// (limits, timeouts): the place for security headers and request ids.
using Decorator = std::function<void(const HttpRequest*, HttpResponse&)>;

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // "host:port"; port 0 picks a free port
  int io_threads = 2;
  int worker_threads = 8;
  size_t max_queued_requests = 1024;  // past this, 503 without calling the handler
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds read_timeout{30'000};    // a whole request from its first byte (408);
                                                     // also bounds the TLS handshake
  std::chrono::milliseconds write_timeout{30'000};   // a whole response
  std::chrono::milliseconds idle_timeout{60'000};    // before the first byte of the next request
  std::chrono::milliseconds shutdown_grace{10'000};  // then connections are closed regardless
  std::string tls_cert_file;                         // PEM; both or neither
  std::string tls_key_file;
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;

  // Binds the listening socket (so port() is known at once) and loads TLS material.
  // Errors: kInvalidArgument for a malformed listen address or unreadable TLS files;
  // kUnavailable when the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Create(ServerOptions options, Handler handler,
                                                    Decorator decorate = nullptr);

  virtual uint16_t port() const = 0;
  // Serves until Shutdown(); returns when every thread has stopped.
  virtual void Run() = 0;
  virtual void Shutdown() = 0;
};

// Splits "a=1&b=x%20y" into decoded pairs ('+' is a space). Malformed escapes and "%00" are kept
// literally; empty pairs ("a=1&&b=2") and pairs with an empty name are skipped.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query);
// Percent-decodes a path; nullopt for a malformed escape or an encoded NUL.
std::optional<std::string> PercentDecode(std::string_view s);

}  // namespace vigil::net
