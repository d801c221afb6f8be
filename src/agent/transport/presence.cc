#include "agent/transport/presence.h"

#include <openssl/x509.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "agent/transport/pin.h"
#include "core/json.h"
#include "core/log.h"

namespace vigil::agent::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;

Result<std::optional<int64_t>> ParsePresenceFrame(std::string_view text) {
  VIGIL_ASSIGN_OR_RETURN(json::Json j, json::ParseObject(text, {.max_bytes = 64 << 10}));
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) {
    return InvalidArgument("frame has no string \"type\"");
  }
  if (*type != "config") {
    return std::optional<int64_t>();
  }
  auto revision = j.find("revision");
  if (revision == j.end() || !revision->is_number_integer() || revision->get<int64_t>() < 0) {
    return InvalidArgument("config frame needs a non-negative integer \"revision\"");
  }
  return std::optional<int64_t>(revision->get<int64_t>());
}

// The state of one connection, shared by its handlers. Everything runs on `io`'s single thread
// except Shutdown(), which posts to it.
struct PresenceClient::Session {
  asio::io_context io;
  std::function<void()> close;  // set by the typed session; runs on io's thread

  std::unique_ptr<asio::steady_timer> deadline;  // bounds Shutdown(); io's thread only

  // Closes the connection politely, and stops `io` after two seconds whatever is still pending
  // (a handshake waiting on a silent server), so that Stop() never waits for a network timeout.
  void Shutdown() {
    asio::post(io, [this] {
      if (close) {
        close();
      }
      deadline = std::make_unique<asio::steady_timer>(io, std::chrono::seconds(2));
      deadline->async_wait([this](beast::error_code ec) {
        if (!ec) {
          io.stop();
        }
      });
    });
  }
};

namespace {

template <typename Ws>
class WsSession : public std::enable_shared_from_this<WsSession<Ws>> {
 public:
  template <typename... Args>
  WsSession(const AgentState& state, const ServerAddress& address, const PresenceOptions& options,
            std::atomic<bool>& connected, std::atomic<int>& connects, Args&&... args)
      : state_(state),
        address_(address),
        options_(options),
        connected_(connected),
        connects_(connects),
        resolver_(std::get<0>(std::forward_as_tuple(args...))),
        ws_(std::forward<Args>(args)...),
        ping_timer_(std::get<0>(std::forward_as_tuple(args...))) {}

  bool handshake_ok() const { return handshake_ok_; }
  Ws& ws() { return ws_; }

  void Start() {
    auto self = this->shared_from_this();
    resolver_.async_resolve(address_.host, std::to_string(address_.port),
                            [self](beast::error_code ec, tcp::resolver::results_type results) {
                              self->OnResolve(ec, std::move(results));
                            });
  }

  void Close() {
    closing_ = true;
    ping_timer_.cancel();
    resolver_.cancel();
    if (handshake_ok_ && ws_.is_open()) {
      beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(2));
      auto self = this->shared_from_this();
      ws_.async_close(websocket::close_code::going_away,
                      [self](beast::error_code) { beast::get_lowest_layer(self->ws_).close(); });
    } else {
      beast::get_lowest_layer(ws_).close();
    }
  }

 private:
  void Fail(std::string_view what, beast::error_code ec) {
    if (!closing_) {
      VIGIL_LOG(warn, "presence connection ended",
                {{"step", what}, {"error", ec.message()}, {"server", state_.server_url}});
    }
    connected_ = false;
    ping_timer_.cancel();
    beast::get_lowest_layer(ws_).close();
  }

  void OnResolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec || closing_) {
      return Fail("resolve", ec);
    }
    beast::get_lowest_layer(ws_).expires_after(options_.handshake_timeout);
    auto self = this->shared_from_this();
    beast::get_lowest_layer(ws_).async_connect(
        results, [self](beast::error_code e, const tcp::endpoint&) { self->OnConnect(e); });
  }

  void OnConnect(beast::error_code ec) {
    if (ec || closing_) {
      return Fail("connect", ec);
    }
    if constexpr (kTls) {
      auto self = this->shared_from_this();
      ws_.next_layer().async_handshake(asio::ssl::stream_base::client,
                                       [self](beast::error_code e) { self->OnTls(e); });
    } else {
      OnTls({});
    }
  }

  void OnTls(beast::error_code ec) {
    if (ec || closing_) {
      return Fail("tls", ec);
    }
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = options_.handshake_timeout;
    timeouts.idle_timeout = options_.ping_interval * 3;
    timeouts.keep_alive_pings = false;
    ws_.set_option(timeouts);
    std::string auth = "Bearer " + state_.credential;
    ws_.set_option(websocket::stream_base::decorator([auth](websocket::request_type& req) {
      req.set(beast::http::field::authorization, auth);
      req.set(beast::http::field::user_agent, "vigil-agent");
    }));
    std::string host =
        address_.host.find(':') != std::string::npos ? "[" + address_.host + "]" : address_.host;
    host += ":" + std::to_string(address_.port);
    auto self = this->shared_from_this();
    ws_.async_handshake(host, address_.base_path + "/api/v1/agent/ws",
                        [self](beast::error_code e) { self->OnHandshake(e); });
  }

  void OnHandshake(beast::error_code ec) {
    if (ec || closing_) {
      return Fail("handshake", ec);
    }
    handshake_ok_ = true;
    connected_ = true;
    ++connects_;
    VIGIL_LOG(info, "presence connected", {{"server", state_.server_url}});
    ws_.read_message_max(64 << 10);
    Read();
    SchedulePing();
  }

  void Read() {
    auto self = this->shared_from_this();
    ws_.async_read(buffer_, [self](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) {
      return Fail("read", ec);
    }
    if (ws_.got_text()) {
      std::string text = beast::buffers_to_string(buffer_.data());
      auto frame = ParsePresenceFrame(text);
      if (!frame.has_value()) {
        VIGIL_LOG(warn, "ignoring malformed presence frame", {{"error", frame.error().ToString()}});
      } else if (frame->has_value() && options_.on_config) {
        options_.on_config(**frame);
      }
    }
    buffer_.consume(buffer_.size());
    Read();
  }

  void SchedulePing() {
    ping_timer_.expires_after(options_.ping_interval);
    auto self = this->shared_from_this();
    ping_timer_.async_wait([self](beast::error_code ec) {
      if (ec || self->closing_ || !self->ws_.is_open()) {
        return;
      }
      self->ws_.async_ping({}, [self](beast::error_code e) {
        if (e) {
          return self->Fail("ping", e);
        }
        self->SchedulePing();
      });
    });
  }

  static constexpr bool kTls = !std::is_same_v<Ws, websocket::stream<beast::tcp_stream>>;

  const AgentState& state_;
  const ServerAddress& address_;
  const PresenceOptions& options_;
  std::atomic<bool>& connected_;
  std::atomic<int>& connects_;
  tcp::resolver resolver_;
  Ws ws_;
  asio::steady_timer ping_timer_;
  beast::flat_buffer buffer_;
  bool handshake_ok_ = false;
  bool closing_ = false;
};

using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// The verify callback: chain verification unless disabled, the host name, and the pin.
bool VerifyPeer(const AgentState& state, const std::string& host, bool preverified,
                asio::ssl::verify_context& ctx) {
  X509_STORE_CTX* store = ctx.native_handle();
  int depth = X509_STORE_CTX_get_error_depth(store);
  if (depth == 0) {
    X509* cert = X509_STORE_CTX_get_current_cert(store);
    if (!state.pinned_public_key.empty() &&
        (cert == nullptr || SpkiPin(cert) != state.pinned_public_key)) {
      VIGIL_LOG(err, "server certificate has another public key than the pinned one",
                {{"server", state.server_url}});
      return false;
    }
    if (state.verify_tls) {
      return asio::ssl::host_name_verification(host)(preverified, ctx);
    }
    return true;
  }
  return state.verify_tls ? preverified : true;
}

}  // namespace

PresenceClient::PresenceClient(AgentState state, PresenceOptions options)
    : state_(std::move(state)), options_(std::move(options)) {
  if (!options_.random) {
    options_.random = SystemRandom();
  }
}

PresenceClient::~PresenceClient() { Stop(); }

void PresenceClient::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stop_) {
    return;
  }
  thread_ = std::thread([this] { Loop(); });
}

void PresenceClient::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    if (session_) {
      session_->Shutdown();
    }
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
  }
}

void PresenceClient::Loop() {
  int attempt = 0;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) {
        return;
      }
    }
    if (RunSession()) {
      attempt = 0;
    }
    connected_ = false;
    auto delay = BackoffDelay(options_.backoff, attempt, options_.random());
    attempt = std::min(attempt + 1, 30);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, delay, [&] { return stop_; });
  }
}

bool PresenceClient::RunSession() {
  auto address = ParseServerUrl(state_.server_url);
  if (!address.has_value()) {
    VIGIL_LOG(err, "presence: bad server URL", {{"error", address.error().ToString()}});
    return false;
  }
  auto session = std::make_shared<Session>();
  std::optional<asio::ssl::context> tls;
  std::shared_ptr<WsSession<PlainWs>> plain;
  std::shared_ptr<WsSession<TlsWs>> secure;
  if (address->tls) {
    tls.emplace(asio::ssl::context::tls_client);
    tls->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                     asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    if (state_.verify_tls) {
      if (state_.ca_file.empty()) {
        tls->set_default_verify_paths(ec);
      } else {
        tls->load_verify_file(state_.ca_file, ec);
      }
      if (ec) {
        VIGIL_LOG(err, "presence: cannot load CA certificates",
                  {{"ca_file", state_.ca_file}, {"error", ec.message()}});
        return false;
      }
    }
    secure = std::make_shared<WsSession<TlsWs>>(state_, *address, options_, connected_, connects_,
                                                session->io, *tls);
    auto& ssl = secure->ws().next_layer();
    beast::error_code ignored;
    asio::ip::make_address(address->host, ignored);
    if (ignored) {  // a name, not an address: send SNI
      SSL_set_tlsext_host_name(ssl.native_handle(), address->host.c_str());
    }
    ssl.set_verify_mode(asio::ssl::verify_peer);
    std::string host = address->host;
    ssl.set_verify_callback([this, host](bool preverified, asio::ssl::verify_context& ctx) {
      return VerifyPeer(state_, host, preverified, ctx);
    });
    session->close = [secure] { secure->Close(); };
  } else {
    plain = std::make_shared<WsSession<PlainWs>>(state_, *address, options_, connected_, connects_,
                                                 session->io);
    session->close = [plain] { plain->Close(); };
  }
  {
    std::lock_guard lock(mu_);
    if (stop_) {
      return false;
    }
    session_ = session;
  }
  if (secure) {
    secure->Start();
  } else {
    plain->Start();
  }
  session->io.run();
  {
    std::lock_guard lock(mu_);
    session_.reset();
  }
  session->close = nullptr;
  connected_ = false;
  bool ok = secure ? secure->handshake_ok() : plain->handshake_ok();
  if (ok) {
    VIGIL_LOG(info, "presence disconnected", {{"server", state_.server_url}});
  }
  return ok;
}

}  // namespace vigil::agent::transport
