// HttpServer on Boost.Beast: an acceptor, one session per connection, a bounded worker pool.
//
// Threads: one io_context run by options.io_threads threads. The acceptor and the shutdown timer
// live on the server strand; every connection (Session) lives on its own strand, so a session's
// members are only touched by its strand. Complete requests go to WorkerPool
// (options.worker_threads threads), which calls the Handler and posts the response back to the
// session's strand. A pending worker task holds "outstanding work" on the io_context, so Run()
// cannot return while a handler is still producing a response.
//
// Session life cycle (one request at a time, so one write in flight and pipelined requests are
// answered in order; bytes of the next request stay in the session's buffer):
//
//   [TLS handshake] -> idle: wait for a first byte (idle_timeout, Beast closes the socket)
//   -> reading: header (+ optional "100 Continue") + body under a read timer (read_timeout -> 408)
//   -> processing: the worker pool runs the handler
//   -> writing (write_timeout) -> idle again, or close.
//
// Limit errors (400/408/413/431/503) are answered with problem+json, then the connection is closed
// after a short "lingering" drain so the client reads the answer instead of a TCP reset.
//
// WebSocket upgrade: with an UpgradeHandler, an upgrade request is not given to the Handler; a
// worker calls the UpgradeHandler instead. A refusal is written like any response; an acceptance
// moves the session's stream into a new WsSession (same strand), which writes the 101 response
// and lives until the WebSocket ends. See WsSession for its life cycle.

#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include "core/json_writer.h"
#include "core/log.h"
#include "core/status.h"
#include "net/http.h"

namespace vigil::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 16 << 10;
// After an error response the connection is drained for at most this long / this many bytes.
constexpr std::chrono::milliseconds kMaxLinger{1000};
constexpr size_t kMaxLingerBytes = 1 << 20;
// Past shutdown_grace, sessions are force-closed; past this much more, the io_context is stopped.
constexpr std::chrono::milliseconds kForceCloseSlack{1000};
constexpr std::chrono::milliseconds kShutdownPoll{10};
constexpr std::chrono::milliseconds kAcceptRetry{50};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// ---------------------------------------------------------------------------------------------
// Problem bodies.

HttpResponse Problem(int status, std::string_view type, std::string_view title,
                     std::string_view detail) {
  HttpResponse res;
  res.status = status;
  res.SetHeader("content-type", "application/problem+json");
  res.body.reserve(128 + detail.size());
  res.body += R"({"type":"https://vigil.dev/problems/)";
  res.body += type;
  res.body += R"(","title":)";
  json::AppendString(res.body, title);
  res.body += R"(,"status":)";
  res.body += std::to_string(status);
  res.body += R"(,"detail":)";
  json::AppendString(res.body, detail);
  res.body += "}";
  return res;
}

HttpResponse ProblemFor(ErrorCode code, std::string_view detail) {
  return Problem(HttpStatusFor(code), ErrorCodeName(code), ErrorCodeTitle(code), detail);
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = AsciiLower(c);
  }
  return out;
}

bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') {
    return true;
  }
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool IsValidHeaderName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(),
                                      [](char c) { return IsTokenChar(static_cast<uint8_t>(c)); });
}

bool IsValidHeaderValue(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// A parse error of the request itself (as opposed to the client leaving or the network failing).
bool IsMalformedRequest(const boost::system::error_code& ec) {
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
    return false;
  }
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

// Headers the server manages itself; a handler's copies are ignored.
bool IsManagedHeader(std::string_view lower_name) {
  return lower_name == "content-length" || lower_name == "transfer-encoding" ||
         lower_name == "connection" || lower_name == "server" || lower_name == "keep-alive";
}

using BeastResponse = http::response<http::string_body>;

// Converts `res` into a Beast message. Never throws; a response Beast refuses becomes a bare 500.
std::unique_ptr<BeastResponse> ToBeast(HttpResponse res, unsigned version, bool keep_alive,
                                       bool head) {
  auto out = std::make_unique<BeastResponse>();
  try {
    out->version(version);
    out->result(static_cast<unsigned>(res.status));
    for (auto& [name, value] : res.headers) {
      if (!IsValidHeaderName(name) || !IsValidHeaderValue(value)) {
        log::Write(spdlog::level::warn, "http: dropping invalid response header", {{"name", name}});
        continue;
      }
      if (IsManagedHeader(ToLower(name))) {
        continue;
      }
      out->insert(name, value);
    }
    out->set(http::field::server, "vigild");
    const bool no_body = res.status == 204 || res.status == 304;
    if (!no_body) {
      out->content_length(res.body.size());
      if (!head) {
        out->body() = std::move(res.body);
      }
    }
    out->keep_alive(keep_alive);
  } catch (const std::exception& e) {
    log::Write(spdlog::level::err, "http: cannot serialize response", {{"error", e.what()}});
    out = std::make_unique<BeastResponse>(http::status::internal_server_error, version);
    out->set(http::field::server, "vigild");
    out->content_length(0);
    out->keep_alive(false);
  }
  return out;
}

// Splits a request target into the raw path and the raw query. Accepts origin-form ("/a?b"),
// absolute-form ("http://host/a?b") and "*"; nullopt for anything else.
std::optional<std::pair<std::string_view, std::string_view>> SplitTarget(std::string_view target) {
  if (target == "*") {
    return std::pair(target, std::string_view());
  }
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() > scheme.size() && ToLower(target.substr(0, scheme.size())) == scheme) {
      size_t slash = target.find('/', scheme.size());
      size_t qmark = target.find('?', scheme.size());
      if (slash == std::string_view::npos || (qmark != std::string_view::npos && qmark < slash)) {
        // "http://host" or "http://host?x": the path is "/".
        std::string_view query =
            qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
        return std::pair(std::string_view("/"), query);
      }
      target = target.substr(slash);
      break;
    }
  }
  if (target.empty() || target[0] != '/') {
    return std::nullopt;
  }
  size_t q = target.find('?');
  if (q == std::string_view::npos) {
    return std::pair(target, std::string_view());
  }
  return std::pair(target.substr(0, q), target.substr(q + 1));
}

std::string RemoteAddress(const tcp::endpoint& ep) {
  asio::ip::address addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  }
  return addr.to_string();
}

Result<tcp::endpoint> ParseListen(std::string_view listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return InvalidArgument("listen address must be host:port, got '" + std::string(listen) + "'");
  }
  std::string_view host = listen.substr(0, colon);
  std::string_view port_str = listen.substr(colon + 1);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_str.data(), port_str.data() + port_str.size(), port);
  if (port_str.empty() || ec != std::errc() || ptr != port_str.data() + port_str.size() ||
      port > 65535) {
    return InvalidArgument("bad port in listen address '" + std::string(listen) + "'");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  asio::ip::address addr;
  if (host.empty()) {
    addr = asio::ip::address_v4::any();
  } else if (host == "localhost") {
    addr = asio::ip::address_v4::loopback();
  } else {
    boost::system::error_code aec;
    addr = asio::ip::make_address(std::string(host), aec);
    if (aec) {
      return InvalidArgument("bad host in listen address '" + std::string(listen) + "'");
    }
  }
  return tcp::endpoint(addr, static_cast<uint16_t>(port));
}

Result<std::unique_ptr<ssl::context>> MakeTlsContext(const ServerOptions& options) {
  std::unique_ptr<ssl::context> ctx;
  try {
    ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return Internal(std::string("cannot create TLS context: ") + e.what());
  }
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                       ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                       ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                   ec);
  if (ec) {
    return Internal("cannot set TLS options: " + ec.message());
  }
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return Internal("cannot require TLS 1.2");
  }
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  ctx->use_certificate_chain_file(options.tls_cert_file, ec);
  if (ec) {
    return InvalidArgument("cannot load TLS certificate '" + options.tls_cert_file +
                           "': " + ec.message());
  }
  ctx->use_private_key_file(options.tls_key_file, ssl::context::pem, ec);
  if (ec) {
    return InvalidArgument("cannot load TLS key '" + options.tls_key_file + "': " + ec.message());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return InvalidArgument("TLS key does not match the certificate");
  }
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// WorkerPool: a fixed set of threads and a bounded queue of tasks.
//
// Thread safety: every method may be called from any thread.
class WorkerPool {
 public:
  WorkerPool(int threads, size_t max_queued) : threads_(threads), max_queued_(max_queued) {}
  ~WorkerPool() { Stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Start() {
    std::lock_guard lock(mu_);
    if (stopped_ || !workers_.empty()) {
      return;
    }
    for (int i = 0; i < threads_; ++i) {
      workers_.emplace_back([this] { Loop(); });
    }
  }

  // Moves `task` into the queue; false (leaving `task` untouched) when max_queued tasks are already
  // waiting or the pool is stopped.
  bool TrySubmit(std::function<void()>& task) {
    {
      std::lock_guard lock(mu_);
      if (stopped_ || queue_.size() >= max_queued_) {
        return false;
      }
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }

  // Discards the tasks still waiting, waits for the running ones. Idempotent.
  void Stop() {
    std::deque<std::function<void()>> discarded;
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
      discarded.swap(queue_);
      workers.swap(workers_);
    }
    cv_.notify_all();
    for (auto& t : workers) {
      t.join();
    }
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopped_ || !queue_.empty(); });
        if (stopped_) {
          return;
        }
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      try {
        task();
      } catch (const std::exception& e) {
        log::Write(spdlog::level::err, "http: worker task failed", {{"error", e.what()}});
      } catch (...) {
        log::Write(spdlog::level::err, "http: worker task failed");
      }
    }
  }

  const int threads_;
  const size_t max_queued_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  std::vector<std::thread> workers_;         // guarded by mu_
  bool stopped_ = false;                     // guarded by mu_
};

// ---------------------------------------------------------------------------------------------
// The parts of a session the server needs for shutdown. Both methods are thread-safe: they post
// to the session's strand.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Finish the request in progress (if any), then close; close at once when idle.
  virtual void NotifyShutdown() = 0;
  // Close now, whatever the state.
  virtual void ForceClose() = 0;
};

class ServerImpl final : public HttpServer {
 public:
  ServerImpl(ServerOptions options, Handler handler, Decorator decorate, UpgradeHandler upgrade)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        decorate_(std::move(decorate)),
        upgrade_(std::move(upgrade)) {}
  ~ServerImpl() override;

  // Binds and loads TLS material; called once by Create.
  Status Init();

  uint16_t port() const override { return port_; }
  void Run() override;
  void Shutdown() override;

  // For sessions.
  const ServerOptions& options() const { return options_; }
  ssl::context* ssl_context() const { return ssl_ctx_.get(); }
  WorkerPool& pool() { return *pool_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  // Calls the handler (any thread); exceptions and bad statuses become 500. Decorates the result.
  HttpResponse CallHandler(const HttpRequest& request) const;
  // Calls the decorator, swallowing its exceptions.
  void Decorate(const HttpRequest* request, HttpResponse& response) const;
  void Register(const std::shared_ptr<SessionBase>& session);
  void Unregister(SessionBase* session);

  // WebSocket upgrades.
  bool accepts_websockets() const { return static_cast<bool>(upgrade_); }
  // Calls the upgrade handler (any thread); exceptions and bad statuses become 500. Decorates a
  // refusal.
  std::variant<WebSocketCallbacks, HttpResponse> CallUpgradeHandler(
      const HttpRequest& request) const;
  // Takes one of max_websockets slots; false when none is left. ReleaseWebSocket gives it back.
  bool TryReserveWebSocket();
  void ReleaseWebSocket() { websockets_.fetch_sub(1, std::memory_order_acq_rel); }

 private:
  void RunIoThread();
  void DoAccept();  // on strand_
  void OnAccept(boost::system::error_code ec, tcp::socket socket);
  void DoShutdown();    // on strand_
  void PollShutdown();  // on strand_
  std::vector<std::shared_ptr<SessionBase>> LiveSessions();

  const ServerOptions options_;
  const Handler handler_;
  const Decorator decorate_;
  const UpgradeHandler upgrade_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ran_{false};
  std::atomic<size_t> websockets_{0};  // reserved slots: upgrades under way and open WebSockets

  std::mutex mu_;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions_;  // guarded by mu_

  // Destruction order matters (see ~ServerImpl): sessions refer to ssl_ctx_ and to this object.
  std::unique_ptr<ssl::context> ssl_ctx_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<asio::io_context> ioc_;
  std::unique_ptr<asio::strand<asio::io_context::executor_type>> strand_;
  std::unique_ptr<tcp::acceptor> acceptor_;    // on strand_
  std::unique_ptr<asio::steady_timer> timer_;  // on strand_: accept retry and shutdown poll
  bool forced_ = false;                        // on strand_
  Clock::time_point grace_deadline_;           // on strand_
  Clock::time_point hard_deadline_;            // on strand_
};

// ---------------------------------------------------------------------------------------------
// The stream of a connection, and the request that asks for a WebSocket upgrade.
template <bool kTls>
using Transport = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;
using UpgradeRequest = http::request<http::string_body>;

// The parts of a WebSocket session its WebSocketConnection handle needs. Both methods are
// thread-safe: they post to the session's strand.
class WsSessionBase : public SessionBase {
 public:
  virtual void Send(std::string text) = 0;
  virtual void Close() = 0;
};

// The WebSocketConnection given to on_open: a weak reference, so that an application holding it
// does not keep the connection (or the server's io_context) alive.
class WsHandle final : public WebSocketConnection {
 public:
  WsHandle(std::weak_ptr<WsSessionBase> session, std::string remote)
      : session_(std::move(session)), remote_(std::move(remote)) {}

  void Send(std::string text) override {
    if (auto session = session_.lock()) {
      session->Send(std::move(text));
    }
  }
  void Close() override {
    if (auto session = session_.lock()) {
      session->Close();
    }
  }
  const std::string& remote_address() const override { return remote_; }

 private:
  const std::weak_ptr<WsSessionBase> session_;
  const std::string remote_;
};

// WsSession: an accepted WebSocket. It takes over the stream of the Session that read the upgrade
// request, and with it that session's strand: all members are used on that strand only.
//
// Life cycle: accepting (the 101 response, under write_timeout) -> open: on_open, then
// [read a message -> on_message]* -> ended: on_close. The callbacks run one at a time on the
// worker pool (inline on the strand when its queue is full); the next read starts only when the
// callback has returned, so they are ordered and a slow application slows down its peer rather
// than buffering its messages. on_close follows the first failed read, which every ending causes
// (closing handshake done, network error, idle timeout, oversized message, Abort()).
//
// Writes: one in flight, the rest queued, bounded by websocket_max_queued_bytes.
// Idle timeout: our own timer, refreshed by every frame (control frames through Beast's control
// callback). Beast's idle timeout is not used: without keep-alive pings it ignores the pings the
// peer sends while a read is pending.
template <bool kTls>
class WsSession final : public WsSessionBase, public std::enable_shared_from_this<WsSession<kTls>> {
 public:
  using Stream = websocket::stream<Transport<kTls>>;

  // Takes over `transport` and one of the server's WebSocket slots (released on destruction).
  WsSession(ServerImpl* server, std::string remote, Transport<kTls>&& transport,
            WebSocketCallbacks callbacks)
      : server_(server),
        options_(server->options()),
        remote_(std::move(remote)),
        callbacks_(std::move(callbacks)),
        ws_(std::move(transport)),
        idle_timer_(ws_.get_executor()) {}

  ~WsSession() override {
    server_->ReleaseWebSocket();
    server_->Unregister(this);
  }

  // On the strand: answers `request` with 101 Switching Protocols.
  void Start(std::shared_ptr<const UpgradeRequest> request) {
    beast::get_lowest_layer(ws_).expires_never();  // the websocket stream has its own timeouts
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options_.write_timeout;  // the 101 response, closing handshakes
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "vigild"); }));
    ws_.read_message_max(options_.websocket_max_message_bytes);
    ws_.control_callback(
        [this](websocket::frame_type /*kind*/, beast::string_view /*payload*/) { Touch(); });
    request_ = std::move(request);
    ws_.async_accept(*request_, Bind(&WsSession::OnAccept));
  }

  void NotifyShutdown() override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
      self->StartClose(websocket::close_code::going_away, /*flush=*/false);
    });
  }

  void ForceClose() override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this()] { self->Abort(); });
  }

  void Send(std::string text) override {
    asio::post(ws_.get_executor(),
               [self = this->shared_from_this(), text = std::move(text)]() mutable {
                 self->Enqueue(std::move(text));
               });
  }

  void Close() override {
    asio::post(ws_.get_executor(), [self = this->shared_from_this()] {
      self->StartClose(websocket::close_code::normal, /*flush=*/true);
    });
  }

 private:
  enum class State { kAccepting, kOpen, kEnded };
  using Continuation = void (WsSession::*)();

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(ws_); }

  template <typename F>
  auto Bind(F f) {
    return beast::bind_front_handler(f, this->shared_from_this());
  }

  void OnAccept(beast::error_code ec) {
    request_.reset();
    if (ec) {
      Abort();  // no on_open, hence no on_close
      return;
    }
    state_ = State::kOpen;
    Touch();
    ArmIdleTimer();
    std::weak_ptr<WsSessionBase> weak = this->shared_from_this();
    auto handle = std::make_shared<WsHandle>(std::move(weak), remote_);
    RunCallback(
        [self = this->shared_from_this(), handle] {
          if (self->callbacks_.on_open) {
            self->callbacks_.on_open(handle);
          }
        },
        &WsSession::DoRead);
  }

  void DoRead() {
    Touch();  // time spent in a callback does not count as idle
    ws_.async_read(read_buffer_, Bind(&WsSession::OnRead));
  }

  void OnRead(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      End();
      return;
    }
    Touch();
    std::string message = beast::buffers_to_string(read_buffer_.data());
    read_buffer_.consume(read_buffer_.size());
    RunCallback(
        [self = this->shared_from_this(), message = std::move(message)] {
          if (self->callbacks_.on_message) {
            self->callbacks_.on_message(message);
          }
        },
        &WsSession::DoRead);
  }

  // The connection is over (the first and only failed read): close what is left, call on_close.
  void End() {
    state_ = State::kEnded;
    idle_timer_.cancel();
    Abort();
    RunCallback(
        [self = this->shared_from_this()] {
          if (self->callbacks_.on_close) {
            self->callbacks_.on_close();
          }
        },
        nullptr);
  }

  // Runs `fn` on the worker pool (inline when the pool refuses it), then `then` on the strand.
  void RunCallback(std::function<void()> fn, Continuation then) {
    in_callback_ = true;
    // The tracked executor keeps Run() from returning before the callback has run.
    auto work = asio::prefer(ws_.get_executor(), asio::execution::outstanding_work.tracked);
    std::function<void()> task = [self = this->shared_from_this(), fn = std::move(fn), then, work] {
      try {
        fn();
      } catch (const std::exception& e) {
        log::Write(spdlog::level::err, "http: websocket callback threw", {{"error", e.what()}});
      } catch (...) {
        log::Write(spdlog::level::err, "http: websocket callback threw");
      }
      asio::post(work, [self, then] {
        self->in_callback_ = false;
        if (then != nullptr) {
          ((*self).*then)();
        }
      });
    };
    if (!server_->pool().TrySubmit(task)) {
      task();
    }
  }

  void Touch() { last_frame_ = Clock::now(); }

  void ArmIdleTimer() {
    idle_timer_.expires_at(last_frame_ + options_.websocket_idle_timeout);
    idle_timer_.async_wait(
        [self = this->shared_from_this()](beast::error_code ec) { self->OnIdleTimer(ec); });
  }

  void OnIdleTimer(beast::error_code ec) {
    if (ec || state_ != State::kOpen || aborted_) {
      return;
    }
    if (in_callback_) {
      Touch();
    } else if (Clock::now() - last_frame_ >= options_.websocket_idle_timeout) {
      Abort();  // the pending read fails, then End()
      return;
    }
    ArmIdleTimer();
  }

  void Enqueue(std::string text) {
    if (state_ != State::kOpen || close_code_ || aborted_) {
      return;
    }
    queued_bytes_ += text.size();
    if (queued_bytes_ > options_.websocket_max_queued_bytes) {
      log::Write(spdlog::level::warn, "http: websocket peer is not reading; dropping it",
                 {{"remote", remote_}});
      Abort();
      return;
    }
    queue_.push_back(std::move(text));
    if (!writing_) {
      DoWrite();
    }
  }

  void DoWrite() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(queue_.front()), Bind(&WsSession::OnWrite));
  }

  void OnWrite(beast::error_code ec, size_t /*bytes*/) {
    writing_ = false;
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
    if (ec || aborted_) {
      Abort();
      return;
    }
    if (close_code_ && !close_started_ && (queue_.empty() || !flush_)) {
      DoClose();
    } else if (!queue_.empty() && !close_started_) {
      DoWrite();
    }
  }

  // Starts the closing handshake with `code`, after the queued messages when `flush`, else after
  // the message being written. The pending read ends when the peer answers (or times out).
  void StartClose(websocket::close_code code, bool flush) {
    if (state_ == State::kAccepting) {
      Abort();
      return;
    }
    if (state_ != State::kOpen || close_code_ || aborted_) {
      return;
    }
    close_code_ = code;
    flush_ = flush;
    if (!writing_) {
      DoClose();
    }
  }

  void DoClose() {
    close_started_ = true;
    ws_.async_close(*close_code_, [self = this->shared_from_this()](beast::error_code ec) {
      if (ec) {
        self->Abort();
      }
    });
  }

  // Closes the socket: every pending operation fails, so a pending read leads to End().
  void Abort() {
    if (aborted_) {
      return;
    }
    aborted_ = true;
    idle_timer_.cancel();
    Lowest().close();
  }

  ServerImpl* const server_;  // outlives every session (see ~ServerImpl)
  const ServerOptions& options_;
  const std::string remote_;
  const WebSocketCallbacks callbacks_;  // also read by worker threads
  Stream ws_;
  asio::steady_timer idle_timer_;
  std::shared_ptr<const UpgradeRequest> request_;  // until the 101 response is written
  beast::flat_buffer read_buffer_;
  std::deque<std::string> queue_;  // front() is being written when writing_
  size_t queued_bytes_ = 0;
  Clock::time_point last_frame_;
  std::optional<websocket::close_code> close_code_;
  State state_ = State::kAccepting;
  bool in_callback_ = false;
  bool writing_ = false;
  bool flush_ = true;
  bool close_started_ = false;
  bool aborted_ = false;
};

// ---------------------------------------------------------------------------------------------
// Session: one connection. kTls selects the stream type. All members are used on the session's
// strand (the executor of its socket) only.
template <bool kTls>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream = Transport<kTls>;

  template <typename... StreamArgs>
  Session(ServerImpl* server, std::string remote, StreamArgs&&... stream_args)
      : server_(server),
        options_(server->options()),
        remote_(std::move(remote)),
        stream_(std::forward<StreamArgs>(stream_args)...),
        timer_(stream_.get_executor()) {}

  ~Session() override { server_->Unregister(this); }

  // The executor (the session's strand) is taken from timer_: stream_ is moved out by a WebSocket
  // upgrade.
  void Start() {
    asio::dispatch(timer_.get_executor(), [self = this->shared_from_this()] { self->DoStart(); });
  }

  void NotifyShutdown() override {
    asio::post(timer_.get_executor(), [self = this->shared_from_this()] {
      self->shutting_down_ = true;
      if (self->state_ == State::kIdle || self->state_ == State::kHandshake ||
          self->state_ == State::kClosing) {
        self->CloseNow();
      }
    });
  }

  void ForceClose() override {
    asio::post(timer_.get_executor(), [self = this->shared_from_this()] { self->CloseNow(); });
  }

 private:
  enum class State { kHandshake, kIdle, kReading, kProcessing, kWriting, kClosing };
  using Parser = http::request_parser<http::string_body>;
  using UpgradeDecision = std::variant<WebSocketCallbacks, HttpResponse>;

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  template <typename F>
  auto Bind(F f) {
    return beast::bind_front_handler(f, this->shared_from_this());
  }

  void DoStart() {
    if (closed_) {
      return;
    }
    if constexpr (kTls) {
      state_ = State::kHandshake;
      Lowest().expires_after(options_.read_timeout);
      stream_.async_handshake(ssl::stream_base::server, Bind(&Session::OnHandshake));
    } else {
      DoReadRequest();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      // Includes plain HTTP sent to the TLS port, scanners and handshake timeouts.
      CloseNow();
      return;
    }
    DoReadRequest();
  }

  // Waits for the next request: at once when bytes of it are buffered (pipelining), else after
  // the first byte arrives, under idle_timeout.
  void DoReadRequest() {
    if (closed_) {
      return;
    }
    if (shutting_down_) {
      CloseGracefully();
      return;
    }
    state_ = State::kIdle;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(
        std::min<size_t>(options_.max_header_bytes, std::numeric_limits<uint32_t>::max())));
    parser_->body_limit(static_cast<uint64_t>(options_.max_body_bytes));
    head_ = false;
    version_ = 11;
    if (buffer_.size() > 0) {
      BeginRequest();
      return;
    }
    Lowest().expires_after(options_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk), Bind(&Session::OnFirstBytes));
  }

  void OnFirstBytes(beast::error_code ec, size_t n) {
    if (ec) {
      CloseNow();  // idle timeout, peer closed, or shutdown
      return;
    }
    buffer_.commit(n);
    BeginRequest();
  }

  // The first byte of a request is here: read the rest under read_timeout.
  void BeginRequest() {
    state_ = State::kReading;
    Lowest().expires_never();
    read_timed_out_ = false;
    const uint64_t generation = ++read_generation_;
    timer_.expires_after(options_.read_timeout);
    timer_.async_wait([self = this->shared_from_this(), generation](beast::error_code ec) {
      self->OnReadTimer(ec, generation);
    });
    http::async_read_header(stream_, buffer_, *parser_, Bind(&Session::OnReadHeader));
  }

  void OnReadTimer(beast::error_code ec, uint64_t generation) {
    if (ec || closed_ || generation != read_generation_ || state_ != State::kReading) {
      return;
    }
    read_timed_out_ = true;
    Lowest().cancel();  // the pending read completes with operation_aborted
  }

  void OnReadHeader(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    const auto& msg = parser_->get();
    version_ = msg.version() == 10 ? 10 : 11;
    if (!parser_->is_done() && msg.version() >= 11) {
      auto expect = msg[http::field::expect];
      if (beast::iequals(expect, "100-continue")) {
        asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                          Bind(&Session::OnContinueWritten));
        return;
      }
    }
    ReadBody();
  }

  void OnContinueWritten(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) {
      OnRequest();
      return;
    }
    http::async_read(stream_, buffer_, *parser_, Bind(&Session::OnReadBody));
  }

  void OnReadBody(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    OnRequest();
  }

  void OnReadError(beast::error_code ec) {
    timer_.cancel();
    ++read_generation_;
    if (closed_) {
      return;
    }
    if (read_timed_out_) {
      SendError(Problem(408, "request_timeout", "Request timeout",
                        "the request was not received within the read timeout"),
                nullptr);
    } else if (ec == http::error::body_limit) {
      SendError(ProblemFor(ErrorCode::kPayloadTooLarge,
                           "the request body exceeds " + std::to_string(options_.max_body_bytes) +
                               " bytes"),
                nullptr);
    } else if (ec == http::error::header_limit) {
      SendError(Problem(431, "request_header_fields_too_large", "Request header fields too large",
                        "the request header exceeds " + std::to_string(options_.max_header_bytes) +
                            " bytes"),
                nullptr);
    } else if (IsMalformedRequest(ec)) {
      SendError(ProblemFor(ErrorCode::kInvalidArgument, "malformed request: " + ec.message()),
                nullptr);
    } else {
      CloseNow();  // the client went away, a network error, or shutdown
    }
  }

  // A complete request is parsed: build HttpRequest and hand it to the worker pool.
  void OnRequest() {
    timer_.cancel();
    ++read_generation_;
    state_ = State::kProcessing;
    auto msg = parser_->release();
    parser_.reset();
    const bool upgrade = server_->accepts_websockets() && websocket::is_upgrade(msg);
    head_ = msg.method() == http::verb::head;
    keep_alive_ = msg.keep_alive();

    auto request = std::make_shared<HttpRequest>();
    request->method = std::string(msg.method_string());
    request->target = std::string(msg.target());
    for (const auto& field : msg) {
      request->headers.emplace_back(
          ToLower(std::string_view(field.name_string().data(), field.name_string().size())),
          std::string(field.value()));
    }
    request->remote_address = remote_;
    request->tls = kTls;
    request->keep_alive = keep_alive_;
    auto parts = SplitTarget(request->target);
    if (!parts) {
      SendError(ProblemFor(ErrorCode::kInvalidArgument, "malformed request target"), request.get());
      return;
    }
    auto path = PercentDecode(parts->first);
    if (!path) {
      SendError(ProblemFor(ErrorCode::kInvalidArgument, "malformed percent-encoding in the path"),
                request.get());
      return;
    }
    request->path = std::move(*path);
    request->query = std::string(parts->second);
    request->body = std::move(msg.body());
    if (upgrade) {
      BeginUpgrade(std::move(request), std::make_shared<const UpgradeRequest>(std::move(msg)));
      return;
    }

    // The tracked executor keeps the io_context running until the response is posted back.
    auto work = asio::prefer(stream_.get_executor(), asio::execution::outstanding_work.tracked);
    std::function<void()> task = [self = this->shared_from_this(), request, work] {
      HttpResponse res = self->server_->CallHandler(*request);
      asio::post(work,
                 [self, res = std::move(res)]() mutable { self->OnResponse(std::move(res)); });
    };
    if (!server_->pool().TrySubmit(task)) {
      HttpResponse res = ProblemFor(ErrorCode::kUnavailable, "the server is overloaded");
      res.SetHeader("retry-after", "1");
      SendError(std::move(res), request.get());
    }
  }

  // A WebSocket upgrade request: reserve a slot, then ask the UpgradeHandler on a worker.
  void BeginUpgrade(std::shared_ptr<HttpRequest> request,
                    std::shared_ptr<const UpgradeRequest> upgrade) {
    if (!server_->TryReserveWebSocket()) {
      HttpResponse res = ProblemFor(ErrorCode::kUnavailable, "too many WebSocket connections");
      res.SetHeader("retry-after", "5");
      SendError(std::move(res), request.get());
      return;
    }
    auto work = asio::prefer(stream_.get_executor(), asio::execution::outstanding_work.tracked);
    std::function<void()> task = [self = this->shared_from_this(), request, upgrade, work] {
      UpgradeDecision decision = self->server_->CallUpgradeHandler(*request);
      asio::post(work, [self, upgrade, decision = std::move(decision)]() mutable {
        self->OnUpgradeDecision(std::move(decision), upgrade);
      });
    };
    if (!server_->pool().TrySubmit(task)) {
      server_->ReleaseWebSocket();
      HttpResponse res = ProblemFor(ErrorCode::kUnavailable, "the server is overloaded");
      res.SetHeader("retry-after", "1");
      SendError(std::move(res), request.get());
    }
  }

  void OnUpgradeDecision(UpgradeDecision decision, std::shared_ptr<const UpgradeRequest> upgrade) {
    if (auto* refusal = std::get_if<HttpResponse>(&decision)) {
      server_->ReleaseWebSocket();
      OnResponse(std::move(*refusal));
      return;
    }
    if (closed_ || shutting_down_ || server_->stopping()) {
      server_->ReleaseWebSocket();  // accepted too late: on_open is never called
      CloseGracefully();
      return;
    }
    // Hand the stream (and the slot) over to a WsSession; this session ends without closing it.
    closed_ = true;
    state_ = State::kClosing;
    timer_.cancel();
    auto ws = std::make_shared<WsSession<kTls>>(server_, remote_, std::move(stream_),
                                                std::move(std::get<WebSocketCallbacks>(decision)));
    server_->Register(ws);
    ws->Start(std::move(upgrade));
    if (server_->stopping()) {
      ws->NotifyShutdown();  // Shutdown() may have listed the sessions before `ws` was registered
    }
  }

  void OnResponse(HttpResponse res) {
    if (closed_) {
      return;
    }
    // stopping() is set at once by Shutdown(); shutting_down_ only when the notification posted
    // to this strand has run, which may be after a response that was already under way.
    bool keep_alive = keep_alive_ && !shutting_down_ && !server_->stopping();
    Write(std::move(res), keep_alive, /*linger=*/false);
  }

  // Decorates and writes a server-made error response, then closes the connection.
  void SendError(HttpResponse res, const HttpRequest* request) {
    server_->Decorate(request, res);
    Write(std::move(res), /*keep_alive=*/false, /*linger=*/true);
  }

  void Write(HttpResponse res, bool keep_alive, bool linger) {
    state_ = State::kWriting;
    response_ = ToBeast(std::move(res), version_, keep_alive, head_);
    Lowest().expires_after(options_.write_timeout);
    http::async_write(
        stream_, *response_,
        [self = this->shared_from_this(), keep_alive, linger](
            beast::error_code ec, size_t /*bytes*/) { self->OnWrite(ec, keep_alive, linger); });
  }

  void OnWrite(beast::error_code ec, bool keep_alive, bool linger) {
    response_.reset();
    if (ec) {
      CloseNow();
      return;
    }
    if (!keep_alive) {
      if (linger) {
        Linger();
      } else {
        CloseGracefully();
      }
      return;
    }
    DoReadRequest();
  }

  // Sends FIN, then discards what the client still sends (up to a bound) so that it reads our
  // response rather than a reset caused by unread data.
  void Linger() {
    if (closed_) {
      return;
    }
    state_ = State::kClosing;
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    Lowest().expires_after(std::min<std::chrono::milliseconds>(options_.read_timeout, kMaxLinger));
    DoDrain();
  }

  void DoDrain() {
    drain_buffer_.resize(kReadChunk);
    Lowest().async_read_some(asio::buffer(drain_buffer_), Bind(&Session::OnDrain));
  }

  void OnDrain(beast::error_code ec, size_t n) {
    drained_ += n;
    if (ec || drained_ > kMaxLingerBytes || shutting_down_) {
      CloseNow();
      return;
    }
    DoDrain();
  }

  void CloseGracefully() {
    if (closed_) {
      return;
    }
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    CloseNow();
  }

  void CloseNow() {
    if (closed_) {
      return;
    }
    closed_ = true;
    state_ = State::kClosing;
    timer_.cancel();
    Lowest().close();  // cancels pending operations; they complete with operation_aborted
  }

  ServerImpl* const server_;  // outlives every session (see ~ServerImpl)
  const ServerOptions& options_;
  const std::string remote_;
  Stream stream_;
  asio::steady_timer timer_;  // read timeout
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::unique_ptr<BeastResponse> response_;  // the write in flight
  std::string drain_buffer_;
  size_t drained_ = 0;
  State state_ = State::kIdle;
  uint64_t read_generation_ = 0;
  unsigned version_ = 11;
  bool head_ = false;
  bool keep_alive_ = true;
  bool read_timed_out_ = false;
  bool shutting_down_ = false;
  bool closed_ = false;
};

// ---------------------------------------------------------------------------------------------
// ServerImpl

ServerImpl::~ServerImpl() {
  // Run() has returned (or never ran). Queued tasks hold sessions, and sessions hold sockets of
  // ioc_: drop them first. Destroying ioc_ destroys the handlers it still holds (and the sessions
  // they own), which unregister themselves from sessions_, so mu_/sessions_ and ssl_ctx_ must still
  // exist at that point.
  if (pool_) {
    pool_->Stop();
  }
  timer_.reset();
  acceptor_.reset();
  strand_.reset();
  ioc_.reset();
  pool_.reset();
  ssl_ctx_.reset();
}

Status ServerImpl::Init() {
  if (options_.io_threads < 1 || options_.worker_threads < 1) {
    return InvalidArgument("io_threads and worker_threads must be at least 1");
  }
  if (!handler_) {
    return InvalidArgument("a handler is required");
  }
  if (options_.tls_cert_file.empty() != options_.tls_key_file.empty()) {
    return InvalidArgument("tls_cert_file and tls_key_file must be given together");
  }
  VIGIL_ASSIGN_OR_RETURN(tcp::endpoint endpoint, ParseListen(options_.listen));
  if (!options_.tls_cert_file.empty()) {
    VIGIL_ASSIGN_OR_RETURN(ssl_ctx_, MakeTlsContext(options_));
  }
  pool_ = std::make_unique<WorkerPool>(options_.worker_threads, options_.max_queued_requests);
  ioc_ = std::make_unique<asio::io_context>(options_.io_threads);
  strand_ =
      std::make_unique<asio::strand<asio::io_context::executor_type>>(asio::make_strand(*ioc_));
  acceptor_ = std::make_unique<tcp::acceptor>(*strand_);
  timer_ = std::make_unique<asio::steady_timer>(*strand_);

  boost::system::error_code ec;
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor_->bind(endpoint, ec);
  }
  if (!ec) {
    acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Unavailable("cannot listen on " + options_.listen + ": " + ec.message());
  }
  tcp::endpoint local = acceptor_->local_endpoint(ec);
  if (ec) {
    return Unavailable("cannot read the bound address: " + ec.message());
  }
  port_ = local.port();
  return Status::Ok();
}

void ServerImpl::Run() {
  if (ran_.exchange(true)) {
    log::Write(spdlog::level::err, "http: HttpServer::Run called twice");
    return;
  }
  pool_->Start();
  asio::post(*strand_, [this] { DoAccept(); });
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(options_.io_threads - 1));
  for (int i = 1; i < options_.io_threads; ++i) {
    threads.emplace_back([this] { RunIoThread(); });
  }
  RunIoThread();
  for (auto& t : threads) {
    t.join();
  }
  pool_->Stop();
}

void ServerImpl::RunIoThread() {
  for (;;) {
    try {
      ioc_->run();
      return;
    } catch (const std::exception& e) {
      log::Write(spdlog::level::err, "http: exception escaped an I/O handler",
                 {{"error", e.what()}});
    } catch (...) {
      log::Write(spdlog::level::err, "http: exception escaped an I/O handler");
    }
  }
}

void ServerImpl::Shutdown() {
  if (stopping_.exchange(true, std::memory_order_acq_rel)) {
    return;
  }
  asio::post(*strand_, [this] { DoShutdown(); });
}

void ServerImpl::DoAccept() {
  if (stopping()) {
    return;
  }
  acceptor_->async_accept(
      asio::make_strand(*ioc_),
      asio::bind_executor(*strand_, [this](boost::system::error_code ec, tcp::socket socket) {
        OnAccept(ec, std::move(socket));
      }));
}

void ServerImpl::OnAccept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || stopping()) {
    return;  // `socket`, if any, closes on destruction
  }
  if (ec) {
    // EMFILE and friends: back off instead of spinning.
    log::Write(spdlog::level::warn, "http: accept failed", {{"error", ec.message()}});
    timer_->expires_after(kAcceptRetry);
    timer_->async_wait(asio::bind_executor(*strand_, [this](boost::system::error_code wec) {
      if (!wec) {
        DoAccept();
      }
    }));
    return;
  }
  boost::system::error_code rec;
  tcp::endpoint remote = socket.remote_endpoint(rec);
  if (!rec) {
    socket.set_option(tcp::no_delay(true), rec);
    if (ssl_ctx_) {
      auto session = std::make_shared<Session<true>>(this, RemoteAddress(remote), std::move(socket),
                                                     *ssl_ctx_);
      Register(session);
      session->Start();
    } else {
      auto session =
          std::make_shared<Session<false>>(this, RemoteAddress(remote), std::move(socket));
      Register(session);
      session->Start();
    }
  }
  DoAccept();
}

std::vector<std::shared_ptr<SessionBase>> ServerImpl::LiveSessions() {
  std::vector<std::shared_ptr<SessionBase>> out;
  std::lock_guard lock(mu_);
  out.reserve(sessions_.size());
  for (auto& [ptr, weak] : sessions_) {
    if (auto s = weak.lock()) {
      out.push_back(std::move(s));
    }
  }
  return out;
}

void ServerImpl::Register(const std::shared_ptr<SessionBase>& session) {
  std::lock_guard lock(mu_);
  sessions_.emplace(session.get(), session);
}

void ServerImpl::Unregister(SessionBase* session) {
  std::lock_guard lock(mu_);
  sessions_.erase(session);
}

void ServerImpl::DoShutdown() {
  boost::system::error_code ignored;
  acceptor_->close(ignored);
  timer_->cancel();
  for (auto& session : LiveSessions()) {
    session->NotifyShutdown();
  }
  grace_deadline_ = Clock::now() + options_.shutdown_grace;
  PollShutdown();
}

void ServerImpl::PollShutdown() {
  {
    std::lock_guard lock(mu_);
    if (sessions_.empty()) {
      return;  // nothing left: the io_context runs out of work and Run() returns
    }
  }
  const auto now = Clock::now();
  if (!forced_ && now >= grace_deadline_) {
    forced_ = true;
    hard_deadline_ = now + kForceCloseSlack;
    log::Write(spdlog::level::warn, "http: shutdown grace period over, closing connections");
    for (auto& session : LiveSessions()) {
      session->ForceClose();
    }
  } else if (forced_ && now >= hard_deadline_) {
    // Only a handler that never returns can get here.
    log::Write(spdlog::level::err,
               "http: connections still open after shutdown; stopping the I/O threads");
    ioc_->stop();
    return;
  }
  timer_->expires_after(kShutdownPoll);
  timer_->async_wait(asio::bind_executor(*strand_, [this](boost::system::error_code ec) {
    if (!ec) {
      PollShutdown();
    }
  }));
}

void ServerImpl::Decorate(const HttpRequest* request, HttpResponse& response) const {
  if (!decorate_) {
    return;
  }
  try {
    decorate_(request, response);
  } catch (const std::exception& e) {
    log::Write(spdlog::level::err, "http: decorator threw", {{"error", e.what()}});
  } catch (...) {
    log::Write(spdlog::level::err, "http: decorator threw");
  }
}

HttpResponse ServerImpl::CallHandler(const HttpRequest& request) const {
  HttpResponse res;
  try {
    res = handler_(request);
  } catch (const std::exception& e) {
    log::Write(spdlog::level::err, "http: handler threw",
               {{"error", e.what()}, {"path", request.path}});
    res = ProblemFor(ErrorCode::kInternal, "the request handler failed");
  } catch (...) {
    log::Write(spdlog::level::err, "http: handler threw", {{"path", request.path}});
    res = ProblemFor(ErrorCode::kInternal, "the request handler failed");
  }
  if (res.status < 200 || res.status > 599) {
    log::Write(spdlog::level::err, "http: handler returned an invalid status",
               {{"status", std::to_string(res.status)}, {"path", request.path}});
    res = ProblemFor(ErrorCode::kInternal, "the request handler failed");
  }
  Decorate(&request, res);
  return res;
}

bool ServerImpl::TryReserveWebSocket() {
  if (websockets_.fetch_add(1, std::memory_order_acq_rel) >= options_.max_websockets) {
    websockets_.fetch_sub(1, std::memory_order_acq_rel);
    return false;
  }
  return true;
}

std::variant<WebSocketCallbacks, HttpResponse> ServerImpl::CallUpgradeHandler(
    const HttpRequest& request) const {
  std::variant<WebSocketCallbacks, HttpResponse> decision;
  try {
    decision = upgrade_(request);
  } catch (const std::exception& e) {
    log::Write(spdlog::level::err, "http: upgrade handler threw",
               {{"error", e.what()}, {"path", request.path}});
    decision = ProblemFor(ErrorCode::kInternal, "the upgrade handler failed");
  } catch (...) {
    log::Write(spdlog::level::err, "http: upgrade handler threw", {{"path", request.path}});
    decision = ProblemFor(ErrorCode::kInternal, "the upgrade handler failed");
  }
  if (auto* res = std::get_if<HttpResponse>(&decision)) {
    if (res->status < 200 || res->status > 599) {
      log::Write(spdlog::level::err, "http: upgrade handler returned an invalid status",
                 {{"status", std::to_string(res->status)}, {"path", request.path}});
      *res = ProblemFor(ErrorCode::kInternal, "the upgrade handler failed");
    }
    Decorate(&request, *res);
  }
  return decision;
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Create(ServerOptions options, Handler handler,
                                                       Decorator decorate, UpgradeHandler upgrade) {
  auto server = std::make_unique<ServerImpl>(std::move(options), std::move(handler),
                                             std::move(decorate), std::move(upgrade));
  VIGIL_RETURN_IF_ERROR(server->Init());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace vigil::net
