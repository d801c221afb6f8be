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
// idle connections. WebSockets get a close frame with 1001 (going away); a peer that does not
// answer it within shutdown_grace is disconnected. Safe to call from a signal-handling thread and
// more than once.
//
// TLS: when cert and key files are given, every connection is TLS (TLS 1.2+); HttpRequest::tls is
// true then.
//
// WebSocket: with an UpgradeHandler, a request asking for a WebSocket upgrade (GET with
// "Connection: upgrade" and "Upgrade: websocket") goes to it instead of the Handler; it accepts
// with WebSocketCallbacks or refuses with a response. An accepted connection then carries
// WebSocket frames (over TLS too) until either side closes it, it is idle for
// websocket_idle_timeout, the peer sends a message over websocket_max_message_bytes (closed with
// 1009), the peer stops reading and websocket_max_queued_bytes of outgoing messages pile up
// (dropped without a closing handshake), or Shutdown() closes it with 1001 (going away).
// Pings are answered with pongs; the server sends no pings of its own.
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
#include <variant>
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

  // WebSocket limits (used only with an UpgradeHandler).
  size_t websocket_max_message_bytes = 64 << 10;  // a larger message closes the connection (1009)
  size_t websocket_max_queued_bytes = 1 << 20;    // unsent outgoing bytes; past this, dropped
  size_t max_websockets = 10'000;                 // open or opening; past this, 503
  // No frame at all from the peer (messages, pings, pongs) for this long closes the connection.
  std::chrono::milliseconds websocket_idle_timeout{90'000};
};

// A WebSocket accepted by the server (see UpgradeHandler).
//
// Thread safety: every method may be called from any thread, at any time until the server is
// destroyed; once the connection has ended, Send() and Close() do nothing.
// Ownership: holding the object does not keep the connection open.
class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;
  // Queues a text message. Messages are written in the order of the calls.
  virtual void Send(std::string text) = 0;
  // Starts the closing handshake (1000, normal closure) after the messages already queued have
  // been written; later Send() calls are ignored. on_close follows when the handshake ends.
  virtual void Close() = 0;
  virtual const std::string& remote_address() const = 0;  // "127.0.0.1"
};

// What happens on an accepted WebSocket. Any callback may be empty.
//
// The callbacks of one connection run one at a time, in this order: on_open, on_message for each
// message, on_close. They run on a worker thread (on the connection's I/O strand only when the
// worker queue is full), so they may block briefly, but the connection reads no further frame
// until on_message has returned. Exceptions are logged and ignored.
struct WebSocketCallbacks {
  // After the handshake (the 101 response) has been written.
  std::function<void(std::shared_ptr<WebSocketConnection>)> on_open;
  // A complete text or binary message.
  std::function<void(std::string_view message)> on_message;
  // Exactly once after on_open, when the connection ends for any reason (peer close, network
  // error, idle timeout, oversized message, Close(), server shutdown).
  std::function<void()> on_close;
};

// Called on a worker thread for a request that asks for a WebSocket upgrade. Returns callbacks to
// accept it, or a response (401 problem+json, 404, ...) to refuse it; the refusal goes through
// `decorate` like any response. May block; must not throw (exceptions become 500).
using UpgradeHandler =
    std::function<std::variant<WebSocketCallbacks, HttpResponse>(const HttpRequest&)>;

class HttpServer {
 public:
  virtual ~HttpServer() = default;

  // Binds the listening socket (so port() is known at once) and loads TLS material.
  // Without `upgrade`, WebSocket upgrade requests go to `handler` like any other request.
  // Errors: kInvalidArgument for a malformed listen address or unreadable TLS files;
  // kUnavailable when the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Create(ServerOptions options, Handler handler,
                                                    Decorator decorate = nullptr,
                                                    UpgradeHandler upgrade = nullptr);

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
