// PresenceClient against a Beast WebSocket server on 127.0.0.1 in the test process.

#include "agent/transport/presence.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vigil::agent::transport {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using namespace std::chrono_literals;
using ::testing::ElementsAre;

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// Accepts WebSocket connections one at a time. Each checks the path and the Bearer header
// (refusing with 401 otherwise), sends one config frame, then reads (counting pings) until the
// test asks it to close the connection or the client goes away.
class WsServer {
 public:
  WsServer() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~WsServer() {
    stop_ = true;
    // shutdown(2) wakes the blocking accept and read of the serving thread.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    CloseCurrent();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port()); }

  int accepted() const { return accepted_; }
  int refused() const { return refused_; }
  int pings() const { return pings_; }
  std::vector<std::string> authorizations() const {
    std::lock_guard lock(mu_);
    return authorizations_;
  }
  // Drops the current connection from the server side.
  void CloseCurrent() {
    int fd = current_fd_.load();
    if (fd >= 0) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }

 private:
  void Serve() {
    while (!stop_) {
      beast::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec) {
        return;
      }
      beast::flat_buffer buffer;
      beast::http::request<beast::http::string_body> req;
      beast::http::read(socket, buffer, req, ec);
      if (ec) {
        continue;
      }
      {
        std::lock_guard lock(mu_);
        authorizations_.push_back(std::string(req[beast::http::field::authorization]));
      }
      if (req.target() != "/api/v1/agent/ws" ||
          req[beast::http::field::authorization] != "Bearer vgd_secret" ||
          !websocket::is_upgrade(req)) {
        ++refused_;
        beast::http::response<beast::http::string_body> res{beast::http::status::unauthorized,
                                                            req.version()};
        res.body() = "no";
        res.prepare_payload();
        beast::http::write(socket, res, ec);
        continue;
      }
      websocket::stream<tcp::socket> ws(std::move(socket));
      ws.accept(req, ec);
      if (ec) {
        continue;
      }
      ++accepted_;
      ws.control_callback([this](websocket::frame_type kind, beast::string_view) {
        if (kind == websocket::frame_type::ping) {
          ++pings_;
        }
      });
      ws.text(true);
      ws.write(asio::buffer(std::string(R"({"type":"config","revision":8})")), ec);
      ws.write(asio::buffer(std::string(R"({"type":"command","id":1})")), ec);
      current_fd_ = ws.next_layer().native_handle();
      beast::flat_buffer in;
      while (!stop_) {
        ws.read(in, ec);
        if (ec) {
          break;
        }
        in.consume(in.size());
      }
      current_fd_ = -1;
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> current_fd_{-1};
  std::atomic<int> accepted_{0};
  std::atomic<int> refused_{0};
  std::atomic<int> pings_{0};
  mutable std::mutex mu_;
  std::vector<std::string> authorizations_;
};

TEST(PresenceFrameTest, ParsesConfigFramesStrictly) {
  auto config = ParsePresenceFrame(R"({"type":"config","revision":8})");
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(*config, std::optional<int64_t>(8));
  auto other = ParsePresenceFrame(R"({"type":"command","id":3})");
  ASSERT_TRUE(other.has_value());
  EXPECT_FALSE(other->has_value());
  for (const char* bad :
       {"", "[]", "{}", R"({"type":1})", R"({"type":"config"})",
        R"({"type":"config","revision":-1})", R"({"type":"config","revision":"8"})"}) {
    auto r = ParsePresenceFrame(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(PresenceTest, ConnectsPingsReceivesConfigAndReconnects) {
  WsServer server;
  AgentState state;
  state.server_url = server.Url();
  state.device_id = 17;
  state.credential = "vgd_secret";
  std::mutex mu;
  std::vector<int64_t> revisions;
  PresenceOptions options;
  options.ping_interval = 50ms;
  options.handshake_timeout = 2s;
  options.backoff = {10ms, 100ms};
  options.on_config = [&](int64_t r) {
    std::lock_guard lock(mu);
    revisions.push_back(r);
  };
  PresenceClient client(state, options);
  client.Start();
  ASSERT_TRUE(WaitFor([&] { return client.connected() && server.accepted() == 1; }));
  ASSERT_TRUE(WaitFor([&] { return server.pings() >= 2; }));
  {
    std::lock_guard lock(mu);
    EXPECT_THAT(revisions, ElementsAre(8));  // the command frame is ignored
  }
  EXPECT_THAT(server.authorizations(), ElementsAre("Bearer vgd_secret"));

  server.CloseCurrent();
  ASSERT_TRUE(WaitFor([&] { return server.accepted() == 2 && client.connected(); }));
  EXPECT_EQ(client.connects(), 2);
  client.Stop();
  EXPECT_FALSE(client.connected());
}

TEST(PresenceTest, RetriesWithBackoffWhileRefused) {
  WsServer server;
  AgentState state;
  state.server_url = server.Url();
  state.device_id = 17;
  state.credential = "vgd_revoked";
  PresenceOptions options;
  options.handshake_timeout = 2s;
  options.backoff = {10ms, 20ms};
  PresenceClient client(state, options);
  client.Start();
  ASSERT_TRUE(WaitFor([&] { return server.refused() >= 3; }));
  EXPECT_EQ(client.connects(), 0);
  EXPECT_FALSE(client.connected());
  client.Stop();
}

}  // namespace
}  // namespace vigil::agent::transport
