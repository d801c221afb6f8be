// Integration tests of HttpServer and HttpClient: a real server on 127.0.0.1:0, real sockets.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include "net/http.h"
#include "net/http_client.h"

namespace vigil::net {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// Runs a server on a background thread; Stop() (or the destructor) shuts it down and joins.
class TestServer {
 public:
  static std::unique_ptr<TestServer> Start(ServerOptions options, Handler handler,
                                           Decorator decorate = nullptr,
                                           UpgradeHandler upgrade = nullptr) {
    options.listen = "127.0.0.1:0";
    auto server = HttpServer::Create(std::move(options), std::move(handler), std::move(decorate),
                                     std::move(upgrade));
    if (!server.has_value()) {
      ADD_FAILURE() << server.error().ToString();
      return nullptr;
    }
    return std::unique_ptr<TestServer>(new TestServer(std::move(*server)));
  }

  ~TestServer() { Stop(); }

  void Stop() {
    if (thread_.joinable()) {
      server_->Shutdown();
      thread_.join();
    }
  }
  // Waits for Run() to return (after a Shutdown() made elsewhere); false on timeout.
  bool WaitStopped(std::chrono::milliseconds timeout) {
    if (done_.wait_for(timeout) != std::future_status::ready) {
      return false;
    }
    thread_.join();
    return true;
  }

  HttpServer& server() { return *server_; }
  uint16_t port() const { return server_->port(); }
  std::string Url(std::string_view path, bool tls = false) const {
    return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) +
           std::string(path);
  }

 private:
  explicit TestServer(std::unique_ptr<HttpServer> server) : server_(std::move(server)) {
    done_ = done_promise_.get_future();
    thread_ = std::thread([this] {
      server_->Run();
      done_promise_.set_value();
    });
  }

  std::unique_ptr<HttpServer> server_;
  std::promise<void> done_promise_;
  std::future<void> done_;
  std::thread thread_;
};

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// A blocking client socket with bounded reads, for what HttpClient cannot do (pipelining, partial
// requests, oversized headers).
class RawConn {
 public:
  explicit RawConn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConn() { ::close(fd_); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response (Content-Length framed); nullopt on EOF, error or timeout.
  std::optional<RawResponse> ReadResponse(std::chrono::milliseconds timeout = 2000ms) {
    const auto deadline = Clock::now() + timeout;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(deadline)) {
        return std::nullopt;
      }
    }
    RawResponse res;
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12) {
      return std::nullopt;
    }
    res.status = std::atoi(status_line.substr(9, 3).c_str());
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t next = head.find("\r\n", pos);
      if (next == std::string::npos) {
        next = head.size();
      }
      std::string line = head.substr(pos, next - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) {
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        size_t v = line.find_first_not_of(' ', colon + 1);
        res.headers[name] = v == std::string::npos ? "" : line.substr(v);
      }
      pos = next + 2;
    }
    size_t length = 0;
    if (auto it = res.headers.find("content-length"); it != res.headers.end()) {
      length = std::stoul(it->second);
    }
    while (buf_.size() < length) {
      if (!Fill(deadline)) {
        return std::nullopt;
      }
    }
    res.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return res;
  }

  // True when the peer closes (EOF or reset) within `timeout`; data that arrives is discarded.
  bool WaitClosed(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      int rc = WaitReadable(deadline);
      if (rc <= 0) {
        return false;  // timeout
      }
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) {
        return true;
      }
    }
  }

 private:
  int WaitReadable(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return 0;
    }
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(left.count()));
  }

  bool Fill(Clock::time_point deadline) {
    if (WaitReadable(deadline) <= 0) {
      return false;
    }
    char tmp[4096];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

HttpResponse Text(int status, std::string body) {
  HttpResponse res;
  res.status = status;
  res.SetHeader("content-type", "text/plain");
  res.body = std::move(body);
  return res;
}

// Echoes the parsed request as "key=value" lines.
HttpResponse Echo(const HttpRequest& req) {
  std::string out;
  out += "method=" + req.method + "\n";
  out += "target=" + req.target + "\n";
  out += "path=" + req.path + "\n";
  out += "query=" + req.query + "\n";
  out += "x-test=" + std::string(req.Header("x-test").value_or("<none>")) + "\n";
  out += "remote=" + req.remote_address + "\n";
  out += "tls=" + std::string(req.tls ? "true" : "false") + "\n";
  out += "keep_alive=" + std::string(req.keep_alive ? "true" : "false") + "\n";
  out += "body=" + req.body;
  return Text(200, std::move(out));
}

ServerOptions FastOptions() {
  ServerOptions o;
  o.io_threads = 2;
  o.worker_threads = 2;
  o.read_timeout = 2000ms;
  o.write_timeout = 2000ms;
  o.idle_timeout = 2000ms;
  o.shutdown_grace = 1000ms;
  return o;
}

ClientOptions FastClient() {
  ClientOptions o;
  o.timeout = 3000ms;
  return o;
}

// ---------------------------------------------------------------------------------------------

TEST(HttpServerTest, EchoesRequestThroughHttpClient) {
  auto ts = TestServer::Start(FastOptions(), Echo);
  ASSERT_TRUE(ts);
  HttpClient client(FastClient());
  auto res = client.Send("POST", ts->Url("/api/v1/a%20b?x=1&y=%41"),
                         {{"X-Test", "hello"}, {"Content-Type", "text/plain"}}, "payload");
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("method=POST\n"));
  EXPECT_THAT(res->body, HasSubstr("target=/api/v1/a%20b?x=1&y=%41\n"));
  EXPECT_THAT(res->body, HasSubstr("path=/api/v1/a b\n"));
  EXPECT_THAT(res->body, HasSubstr("query=x=1&y=%41\n"));
  EXPECT_THAT(res->body, HasSubstr("x-test=hello\n"));
  EXPECT_THAT(res->body, HasSubstr("remote=127.0.0.1\n"));
  EXPECT_THAT(res->body, HasSubstr("tls=false\n"));
  EXPECT_THAT(res->body, HasSubstr("body=payload"));
  EXPECT_EQ(res->Header("server"), "vigild");
  EXPECT_EQ(res->Header("content-type"), "text/plain");
  EXPECT_EQ(res->Header("content-length"), std::to_string(res->body.size()));
}

TEST(HttpServerTest, KeepAliveServesTwoRequestsOnOneSocket) {
  auto ts = TestServer::Start(FastOptions(), Echo);
  ASSERT_TRUE(ts);
  RawConn conn(ts->port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.Send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = conn.ReadResponse();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_THAT(first->body, HasSubstr("path=/one\n"));
  EXPECT_EQ(first->headers.count("connection"), 0u);
  ASSERT_TRUE(conn.Send("GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto second = conn.ReadResponse();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_THAT(second->body, HasSubstr("path=/two\n"));
  EXPECT_THAT(second->body, HasSubstr("keep_alive=false\n"));
  EXPECT_EQ(second->headers["connection"], "close");
  EXPECT_TRUE(conn.WaitClosed(1000ms));
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto ts = TestServer::Start(FastOptions(), [](const HttpRequest& req) {
    if (req.path == "/1") {
      std::this_thread::sleep_for(50ms);  // the first answer is the slowest
    }
    return Text(200, req.path);
  });
  ASSERT_TRUE(ts);
  RawConn conn(ts->port());
  ASSERT_TRUE(
      conn.Send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"
                "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (std::string expected : {"/1", "/2", "/3"}) {
    auto res = conn.ReadResponse();
    ASSERT_TRUE(res) << expected;
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, expected);
  }
}

TEST(HttpServerTest, HttpClientReusesItsConnection) {
  auto ts = TestServer::Start(FastOptions(), Echo);
  ASSERT_TRUE(ts);
  HttpClient client(FastClient());
  for (int i = 0; i < 3; ++i) {
    auto res = client.Send("GET", ts->Url("/r"), {});
    ASSERT_TRUE(res.has_value()) << res.error().ToString();
    EXPECT_EQ(res->status, 200);
    EXPECT_THAT(res->body, HasSubstr("keep_alive=true\n"));
  }
}

TEST(HttpServerTest, BodyOverLimitIs413ProblemJsonAndDecorated) {
  auto options = FastOptions();
  options.max_body_bytes = 16;
  std::atomic<bool> handler_called{false};
  std::atomic<bool> decorated_without_request{false};
  auto ts = TestServer::Start(
      options,
      [&](const HttpRequest& req) {
        handler_called = true;
        return Echo(req);
      },
      [&](const HttpRequest* req, HttpResponse& res) {
        if (req == nullptr) {
          decorated_without_request = true;
        }
        res.SetHeader("x-decorated", "yes");
      });
  ASSERT_TRUE(ts);
  RawConn conn(ts->port());
  ASSERT_TRUE(conn.Send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n" +
                        std::string(4096, 'z')));
  auto res = conn.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(res->headers["content-type"], "application/problem+json");
  EXPECT_EQ(res->headers["x-decorated"], "yes");
  EXPECT_EQ(res->headers["connection"], "close");
  EXPECT_THAT(res->body, HasSubstr(R"("type":"https://vigil.dev/problems/payload_too_large")"));
  EXPECT_THAT(res->body, HasSubstr(R"("title":"Payload too large")"));
  EXPECT_THAT(res->body, HasSubstr(R"("status":413)"));
  EXPECT_TRUE(conn.WaitClosed(2000ms));
  EXPECT_FALSE(handler_called);
  EXPECT_TRUE(decorated_without_request);
}

TEST(HttpServerTest, ChunkedBodyOverLimitIs413) {
  auto options = FastOptions();
  options.max_body_bytes = 16;
  auto ts = TestServer::Start(options, Echo);
  ASSERT_TRUE(ts);
  RawConn conn(ts->port());
  ASSERT_TRUE(
      conn.Send("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n"));
  auto res = conn.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
}

TEST(HttpServerTest, HttpClientSeesThe413) {
  auto options = FastOptions();
  options.max_body_bytes = 1024;
  auto ts = TestServer::Start(options, Echo);
  ASSERT_TRUE(ts);
  HttpClient client(FastClient());
  auto res = client.Send("POST", ts->Url("/big"), {}, std::string(200'000, 'q'));
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(res->Header("content-type"), "application/problem+json");
}

TEST(HttpServerTest, HeaderOverLimitIs431) {
  auto options = FastOptions();
  options.max_header_bytes = 1024;
  auto ts = TestServer::Start(options, Echo);
  ASSERT_TRUE(ts);
  RawConn conn(ts->port());
  ASSERT_TRUE(
      conn.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'h') + "\r\n\r\n"));
  auto res = conn.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 431);
  EXPECT_EQ(res->headers["content-type"], "application/problem+json");
  EXPECT_THAT(res->body, HasSubstr(R"("status":431)"));
  EXPECT_TRUE(conn.WaitClosed(2000ms));
}

TEST(HttpServerTest, MalformedRequestsAre400) {
  std::atomic<int> calls{0};
  auto ts = TestServer::Start(FastOptions(), [&](const HttpRequest& req) {
    ++calls;
    return Echo(req);
  });
  ASSERT_TRUE(ts);
  for (const std::string& raw :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n"),
        std::string("GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n"),
        std::string("GET relative HTTP/1.1\r\nHost: x\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n")}) {
    RawConn conn(ts->port());
    ASSERT_TRUE(conn.Send(raw));
    auto res = conn.ReadResponse();
    ASSERT_TRUE(res) << raw;
    EXPECT_EQ(res->status, 400) << raw;
    EXPECT_EQ(res->headers["content-type"], "application/problem+json");
    EXPECT_THAT(res->body, HasSubstr("invalid_argument"));
    EXPECT_TRUE(conn.WaitClosed(2000ms));
  }
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServerTest, AbsoluteFormTargetIsAccepted) {
  auto ts = TestServer::Start(FastOptions(), Echo);
  ASSERT_TRUE(ts);
  RawConn conn(ts->port());
  ASSERT_TRUE(conn.Send("GET http://example.com/p%2Fq?z=1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto res = conn.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("path=/p/q\n"));
  EXPECT_THAT(res->body, HasSubstr("query=z=1\n"));
}

TEST(HttpServerTest, PartialRequestTimesOutWith408) {
  auto options = FastOptions();
  options.read_timeout = 200ms;
  auto ts = TestServer::Start(options, Echo);
  ASSERT_TRUE(ts);
  RawConn conn(ts->port());
  const auto start = Clock::now();
  ASSERT_TRUE(conn.Send("GET / HTTP/1.1\r\nHost: x\r\n"));  // no blank line: never complete
  auto res = conn.ReadResponse(2000ms);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 408);
  EXPECT_THAT(res->body, HasSubstr("request_timeout"));
  EXPECT_TRUE(conn.WaitClosed(1500ms));
  const auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 1900ms);
}

TEST(HttpServerTest, IdleConnectionIsClosedAfterIdleTimeout) {
  auto options = FastOptions();
  options.idle_timeout = 200ms;
  auto ts = TestServer::Start(options, Echo);
  ASSERT_TRUE(ts);
  RawConn conn(ts->port());
  ASSERT_TRUE(conn.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(conn.ReadResponse());
  const auto start = Clock::now();
  EXPECT_TRUE(conn.WaitClosed(1500ms));
  EXPECT_GE(Clock::now() - start, 150ms);

  RawConn silent(ts->port());  // never sends a byte
  EXPECT_TRUE(silent.WaitClosed(1500ms));
}

TEST(HttpServerTest, HandlerExceptionIs500) {
  auto ts = TestServer::Start(FastOptions(), [](const HttpRequest& req) -> HttpResponse {
    if (req.path == "/throw") {
      throw std::runtime_error("boom");
    }
    if (req.path == "/int") {
      throw 42;
    }
    return Text(200, "ok");
  });
  ASSERT_TRUE(ts);
  HttpClient client(FastClient());
  for (const char* path : {"/throw", "/int"}) {
    auto res = client.Send("GET", ts->Url(path), {});
    ASSERT_TRUE(res.has_value()) << res.error().ToString();
    EXPECT_EQ(res->status, 500);
    EXPECT_EQ(res->Header("content-type"), "application/problem+json");
    EXPECT_THAT(res->body, HasSubstr(R"("status":500)"));
    EXPECT_THAT(res->body, ::testing::Not(HasSubstr("boom")));
  }
  auto ok = client.Send("GET", ts->Url("/fine"), {});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->status, 200);
}

TEST(HttpServerTest, InvalidHandlerStatusAndHeadersAreSanitized) {
  auto ts = TestServer::Start(FastOptions(), [](const HttpRequest& req) {
    HttpResponse res = Text(200, "x");
    if (req.path == "/status") {
      res.status = 42;
    }
    res.headers.emplace_back("x-evil", "a\r\nSet-Cookie: pwned=1");
    res.headers.emplace_back("content-length", "999");
    res.headers.emplace_back("server", "apache");
    return res;
  });
  ASSERT_TRUE(ts);
  RawConn conn(ts->port());
  ASSERT_TRUE(conn.Send("GET /headers HTTP/1.1\r\nHost: x\r\n\r\nGET /status HTTP/1.1\r\n\r\n"));
  auto res = conn.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "x");
  EXPECT_EQ(res->headers.count("x-evil"), 0u);
  EXPECT_EQ(res->headers.count("set-cookie"), 0u);
  EXPECT_EQ(res->headers["server"], "vigild");
  auto bad = conn.ReadResponse();
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 500);
}

TEST(HttpServerTest, QueueOverflowIs503WithoutCallingHandler) {
  auto options = FastOptions();
  options.worker_threads = 1;
  options.max_queued_requests = 1;
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> entered_once{false};
  std::mutex mu;
  std::vector<std::string> seen;
  auto ts = TestServer::Start(options, [&](const HttpRequest& req) {
    {
      std::lock_guard lock(mu);
      seen.push_back(req.path);
    }
    if (req.path == "/block") {
      if (!entered_once.exchange(true)) {
        entered.set_value();
      }
      released.wait_for(3s);
    }
    return Text(200, req.path);
  });
  ASSERT_TRUE(ts);

  std::optional<Result<HttpResponse>> blocked;
  std::thread a([&] {
    HttpClient client(FastClient());
    blocked.emplace(client.Send("GET", ts->Url("/block"), {}));
  });
  ASSERT_EQ(entered.get_future().wait_for(2s), std::future_status::ready);

  RawConn queued(ts->port());  // waits in the queue behind /block
  ASSERT_TRUE(queued.Send("GET /queued HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(100ms);  // lets the server read and queue it

  HttpClient client(FastClient());
  auto rejected = client.Send("GET", ts->Url("/rejected"), {});
  ASSERT_TRUE(rejected.has_value()) << rejected.error().ToString();
  EXPECT_EQ(rejected->status, 503);
  EXPECT_EQ(rejected->Header("content-type"), "application/problem+json");
  EXPECT_THAT(rejected->body, HasSubstr(R"("status":503)"));

  release.set_value();
  auto queued_res = queued.ReadResponse();
  ASSERT_TRUE(queued_res);
  EXPECT_EQ(queued_res->status, 200);
  a.join();
  ASSERT_TRUE(blocked.has_value() && blocked->has_value());
  EXPECT_EQ((*blocked)->status, 200);
  std::lock_guard lock(mu);
  EXPECT_THAT(seen, ::testing::ElementsAre("/block", "/queued"));
}

// True when a connection attempt to `port` is refused within `timeout`.
bool ConnectionRefusedWithin(uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    RawConn probe(port);
    if (!probe.connected()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST(HttpServerTest, GracefulShutdownFinishesInFlightRequest) {
  auto options = FastOptions();
  options.shutdown_grace = 3000ms;
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto ts = TestServer::Start(options, [&](const HttpRequest&) {
    entered.set_value();
    released.wait_for(3s);
    return Text(200, "done");
  });
  ASSERT_TRUE(ts);
  const uint16_t port = ts->port();

  std::optional<Result<HttpResponse>> result;
  std::thread client_thread([&] {
    HttpClient client(FastClient());
    result.emplace(client.Send("GET", ts->Url("/slow"), {}));
  });
  ASSERT_EQ(entered.get_future().wait_for(2s), std::future_status::ready);

  ts->server().Shutdown();
  ts->server().Shutdown();  // idempotent
  EXPECT_TRUE(ConnectionRefusedWithin(port, 1000ms));

  release.set_value();
  client_thread.join();
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->has_value()) << result->error().ToString();
  EXPECT_EQ((*result)->status, 200);
  EXPECT_EQ((*result)->body, "done");
  EXPECT_EQ((*result)->Header("connection"), "close");
  EXPECT_TRUE(ts->WaitStopped(1500ms));
}

TEST(HttpServerTest, ShutdownClosesIdleConnectionsAtOnce) {
  auto options = FastOptions();
  options.idle_timeout = 60'000ms;
  options.shutdown_grace = 10'000ms;
  auto ts = TestServer::Start(options, Echo);
  ASSERT_TRUE(ts);
  RawConn idle(ts->port());
  ASSERT_TRUE(idle.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.ReadResponse());
  RawConn fresh(ts->port());
  ASSERT_TRUE(fresh.connected());
  std::this_thread::sleep_for(50ms);  // let the server accept `fresh`

  const auto start = Clock::now();
  std::thread([&] { ts->server().Shutdown(); }).join();  // from another thread
  EXPECT_TRUE(idle.WaitClosed(1000ms));
  EXPECT_TRUE(fresh.WaitClosed(1000ms));
  EXPECT_TRUE(ts->WaitStopped(1000ms));
  EXPECT_LT(Clock::now() - start, 1000ms);
}

TEST(HttpServerTest, ShutdownAfterGraceForceClosesSlowRequests) {
  auto options = FastOptions();
  options.shutdown_grace = 200ms;
  std::promise<void> entered;
  auto ts = TestServer::Start(options, [&](const HttpRequest&) {
    entered.set_value();
    std::this_thread::sleep_for(600ms);
    return Text(200, "late");
  });
  ASSERT_TRUE(ts);
  RawConn conn(ts->port());
  ASSERT_TRUE(conn.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(entered.get_future().wait_for(2s), std::future_status::ready);
  const auto start = Clock::now();
  ts->server().Shutdown();
  EXPECT_TRUE(conn.WaitClosed(1000ms));
  EXPECT_LT(Clock::now() - start, 550ms);  // closed by the grace timer, not by the handler
  EXPECT_TRUE(ts->WaitStopped(1500ms));
}

TEST(HttpServerTest, ShutdownBeforeRunMakesRunReturn) {
  ServerOptions options = FastOptions();
  options.listen = "127.0.0.1:0";
  auto server = HttpServer::Create(options, Echo);
  ASSERT_TRUE(server.has_value());
  (*server)->Shutdown();
  auto done = std::async(std::launch::async, [&] { (*server)->Run(); });
  EXPECT_EQ(done.wait_for(1500ms), std::future_status::ready);
}

TEST(HttpServerTest, CreateReportsBadOptions) {
  auto bad_listen = HttpServer::Create(ServerOptions{.listen = "nonsense"}, Echo);
  ASSERT_FALSE(bad_listen.has_value());
  EXPECT_EQ(bad_listen.error().code(), ErrorCode::kInvalidArgument);

  auto bad_port = HttpServer::Create(ServerOptions{.listen = "127.0.0.1:99999"}, Echo);
  ASSERT_FALSE(bad_port.has_value());
  EXPECT_EQ(bad_port.error().code(), ErrorCode::kInvalidArgument);

  ServerOptions tls;
  tls.listen = "127.0.0.1:0";
  tls.tls_cert_file = "/nonexistent/cert.pem";
  tls.tls_key_file = "/nonexistent/key.pem";
  auto bad_tls = HttpServer::Create(tls, Echo);
  ASSERT_FALSE(bad_tls.has_value());
  EXPECT_EQ(bad_tls.error().code(), ErrorCode::kInvalidArgument);

  ServerOptions half_tls;
  half_tls.listen = "127.0.0.1:0";
  half_tls.tls_cert_file = "/nonexistent/cert.pem";
  auto bad_half = HttpServer::Create(half_tls, Echo);
  ASSERT_FALSE(bad_half.has_value());
  EXPECT_EQ(bad_half.error().code(), ErrorCode::kInvalidArgument);

  auto first = HttpServer::Create(ServerOptions{.listen = "127.0.0.1:0"}, Echo);
  ASSERT_TRUE(first.has_value());
  auto busy = HttpServer::Create(
      ServerOptions{.listen = "127.0.0.1:" + std::to_string((*first)->port())}, Echo);
  ASSERT_FALSE(busy.has_value());
  EXPECT_EQ(busy.error().code(), ErrorCode::kUnavailable);
}

TEST(HttpServerTest, ExpectContinueIsAnswered) {
  auto ts = TestServer::Start(FastOptions(), Echo);
  ASSERT_TRUE(ts);
  RawConn conn(ts->port());
  ASSERT_TRUE(
      conn.Send("PUT /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = conn.ReadResponse();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(conn.Send("hello"));
  auto res = conn.ReadResponse();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("body=hello"));
}

TEST(HttpServerTest, HeadResponseHasLengthButNoBody) {
  auto ts = TestServer::Start(FastOptions(), [](const HttpRequest&) { return Text(200, "12345"); });
  ASSERT_TRUE(ts);
  RawConn conn(ts->port());
  ASSERT_TRUE(conn.Send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  // RawConn frames by Content-Length, so the HEAD answer "body" it reads is really the first five
  // bytes of the GET answer: proof that no body followed the HEAD header.
  auto head = conn.ReadResponse();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers["content-length"], "5");
  EXPECT_EQ(head->body.substr(0, 5), "HTTP/");  // the next response starts right away
}

// ---------------------------------------------------------------------------------------------
// TLS

struct TlsMaterial {
  std::filesystem::path dir;
  std::string cert;
  std::string key;
  std::string pin;  // "sha256//BASE64" of the public key

  ~TlsMaterial() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// A fresh P-256 key and a self-signed certificate for "localhost", written as PEM files.
std::unique_ptr<TlsMaterial> MakeSelfSigned() {
  auto out = std::make_unique<TlsMaterial>();
  std::string tmpl = (std::filesystem::temp_directory_path() / "vigil_net_tls_XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return nullptr;
  }
  out->dir = tmpl;
  out->cert = (out->dir / "cert.pem").string();
  out->key = (out->dir / "key.pem").string();

  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* x509 = X509_new();
  bool ok = pkey != nullptr && x509 != nullptr;
  if (ok) {
    X509_set_version(x509, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x509), 1);
    X509_gmtime_adj(X509_getm_notBefore(x509), -60);
    X509_gmtime_adj(X509_getm_notAfter(x509), 3600);
    X509_set_pubkey(x509, pkey);
    X509_NAME* name = X509_get_subject_name(x509);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(x509, name);
    ok = X509_sign(x509, pkey, EVP_sha256()) > 0;
  }
  if (ok) {
    FILE* f = std::fopen(out->cert.c_str(), "w");
    ok = f != nullptr && PEM_write_X509(f, x509) == 1;
    if (f != nullptr) {
      std::fclose(f);
    }
  }
  if (ok) {
    FILE* f = std::fopen(out->key.c_str(), "w");
    ok = f != nullptr && PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    if (f != nullptr) {
      std::fclose(f);
    }
  }
  if (ok) {
    int len = i2d_PUBKEY(pkey, nullptr);
    std::vector<unsigned char> der(static_cast<size_t>(len));
    unsigned char* p = der.data();
    i2d_PUBKEY(pkey, &p);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(der.data(), der.size(), digest);
    unsigned char b64[64];
    int n = EVP_EncodeBlock(b64, digest, sizeof digest);
    out->pin = "sha256//" + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
  }
  X509_free(x509);
  EVP_PKEY_free(pkey);
  return ok ? std::move(out) : nullptr;
}

TEST(HttpServerTlsTest, ServesOverTls) {
  auto tls = MakeSelfSigned();
  ASSERT_TRUE(tls);
  auto options = FastOptions();
  options.tls_cert_file = tls->cert;
  options.tls_key_file = tls->key;
  auto ts = TestServer::Start(options, Echo);
  ASSERT_TRUE(ts);

  ClientOptions copts = FastClient();
  copts.verify_tls = false;
  HttpClient client(copts);
  for (int i = 0; i < 2; ++i) {  // the second request reuses the TLS connection
    auto res = client.Send("POST", ts->Url("/secure?q=1", /*tls=*/true), {}, "tls-body");
    ASSERT_TRUE(res.has_value()) << res.error().ToString();
    EXPECT_EQ(res->status, 200);
    EXPECT_THAT(res->body, HasSubstr("tls=true\n"));
    EXPECT_THAT(res->body, HasSubstr("path=/secure\n"));
    EXPECT_THAT(res->body, HasSubstr("body=tls-body"));
  }

  // Verification on (the default) rejects the self-signed certificate...
  HttpClient strict(FastClient());
  auto rejected = strict.Send("GET", ts->Url("/", true), {});
  ASSERT_FALSE(rejected.has_value());
  EXPECT_EQ(rejected.error().code(), ErrorCode::kUnavailable);

  // ... unless the certificate is trusted through ca_file.
  ClientOptions trusting = FastClient();
  trusting.ca_file = tls->cert;
  trusting.verify_tls = true;
  HttpClient with_ca(trusting);
  auto ca_res = with_ca.Send("GET", "https://localhost:" + std::to_string(ts->port()) + "/", {});
  ASSERT_TRUE(ca_res.has_value()) << ca_res.error().ToString();
  EXPECT_EQ(ca_res->status, 200);
}

TEST(HttpServerTlsTest, PinnedPublicKey) {
  auto tls = MakeSelfSigned();
  ASSERT_TRUE(tls);
  auto options = FastOptions();
  options.tls_cert_file = tls->cert;
  options.tls_key_file = tls->key;
  auto ts = TestServer::Start(options, Echo);
  ASSERT_TRUE(ts);

  ClientOptions pinned = FastClient();
  pinned.verify_tls = false;
  pinned.pinned_public_key = tls->pin;
  HttpClient good(pinned);
  auto res = good.Send("GET", ts->Url("/", true), {});
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  EXPECT_EQ(res->status, 200);

  pinned.pinned_public_key = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  HttpClient bad(pinned);
  auto mismatch = bad.Send("GET", ts->Url("/", true), {});
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().code(), ErrorCode::kUnavailable);
}

TEST(HttpServerTlsTest, PlainHttpOnTlsPortIsClosedHarmlessly) {
  auto tls = MakeSelfSigned();
  ASSERT_TRUE(tls);
  auto options = FastOptions();
  options.tls_cert_file = tls->cert;
  options.tls_key_file = tls->key;
  auto ts = TestServer::Start(options, Echo);
  ASSERT_TRUE(ts);
  {
    RawConn plain(ts->port());
    ASSERT_TRUE(plain.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(plain.WaitClosed(1500ms));
  }
  {
    HttpClient client(FastClient());
    auto res = client.Send("GET", ts->Url("/"), {});  // http:// against the TLS port
    EXPECT_FALSE(res.has_value() && res->status == 200);
  }
  ClientOptions copts = FastClient();
  copts.verify_tls = false;
  HttpClient client(copts);
  auto res = client.Send("GET", ts->Url("/after", true), {});
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  EXPECT_EQ(res->status, 200);
}

// ---------------------------------------------------------------------------------------------
// WebSocket

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

// A WebSocket client on Beast, plain or TLS. Every operation runs the client's own io_context for
// at most its timeout; on a timeout the socket is closed.
template <bool kTls>
class BasicWsClient {
 public:
  using Transport =
      std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  explicit BasicWsClient(uint16_t port) : port_(port) {
    if constexpr (kTls) {
      tls_.set_verify_mode(asio::ssl::verify_none);
      ws_.emplace(ioc_, tls_);
    } else {
      ws_.emplace(ioc_);
    }
  }

  // Connects and asks for an upgrade of `target`, with "Authorization: Bearer <token>" unless
  // `token` is empty. Returns the status of the handshake's response (101 when accepted), 0 when
  // there was none.
  int Connect(std::string target = "/api/v1/agent/ws", std::string token = "good") {
    asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port_);
    if (Await([&](auto h) { beast::get_lowest_layer(*ws_).async_connect(endpoint, h); })) {
      return 0;
    }
    if constexpr (kTls) {
      if (Await([&](auto h) {
            ws_->next_layer().async_handshake(asio::ssl::stream_base::client, h);
          })) {
        return 0;
      }
    }
    ws_->set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
      if (!token.empty()) {
        req.set(beast::http::field::authorization, "Bearer " + token);
      }
    }));
    websocket::response_type res;
    last_error_ = Await([&](auto h) { ws_->async_handshake(res, "127.0.0.1", target, h); });
    headers_.clear();
    for (const auto& field : res) {
      headers_[ToLowerAscii(std::string(field.name_string()))] = std::string(field.value());
    }
    return static_cast<int>(res.result_int());
  }

  bool Write(const std::string& text) {
    last_error_ = Await([&](auto h) { ws_->async_write(asio::buffer(text), h); });
    return !last_error_;
  }

  // The next message; nullopt when the connection ends (see last_error(), close_code()) or after
  // `timeout`.
  std::optional<std::string> Read(std::chrono::milliseconds timeout = 2000ms) {
    beast::flat_buffer buffer;
    last_error_ = Await([&](auto h) { ws_->async_read(buffer, h); }, timeout);
    if (last_error_) {
      return std::nullopt;
    }
    return beast::buffers_to_string(buffer.data());
  }

  bool Ping() {
    last_error_ = Await([&](auto h) { ws_->async_ping({}, h); });
    return !last_error_;
  }

  // Starts the closing handshake and reads until the server answers.
  bool Close() {
    last_error_ = Await([&](auto h) { ws_->async_close(websocket::close_code::normal, h); });
    return !last_error_;
  }

  beast::error_code last_error() const { return last_error_; }
  int close_code() const { return static_cast<int>(ws_->reason().code); }
  const std::map<std::string, std::string>& headers() const { return headers_; }

 private:
  static std::string ToLowerAscii(std::string s) {
    for (char& c : s) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
  }

  template <typename Start>
  beast::error_code Await(Start start, std::chrono::milliseconds timeout = 2000ms) {
    std::optional<beast::error_code> result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run_for(timeout);
    if (!result) {
      beast::get_lowest_layer(*ws_).close();
      ioc_.restart();
      ioc_.run_for(500ms);
      return asio::error::timed_out;
    }
    return *result;
  }

  const uint16_t port_;
  asio::io_context ioc_;
  asio::ssl::context tls_{asio::ssl::context::tls_client};
  std::optional<websocket::stream<Transport>> ws_;
  beast::error_code last_error_;
  std::map<std::string, std::string> headers_;
};
using WsClient = BasicWsClient<false>;
using TlsWsClient = BasicWsClient<true>;

// What the server-side callbacks of the agent presence endpoint saw.
struct WsEvents {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::shared_ptr<WebSocketConnection>> opened;  // guarded by mu
  std::vector<std::string> messages;                         // guarded by mu
  int closes = 0;                                            // guarded by mu
  int upgrade_calls = 0;                                     // guarded by mu

  // Waits until `done` (called under mu) is true; false after `timeout`.
  template <typename Pred>
  bool WaitFor(Pred done, std::chrono::milliseconds timeout = 2000ms) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return done(); });
  }
  std::shared_ptr<WebSocketConnection> Opened(size_t i) {
    std::lock_guard lock(mu);
    return i < opened.size() ? opened[i] : nullptr;
  }
  int Closes() {
    std::lock_guard lock(mu);
    return closes;
  }
};

// GET /api/v1/agent/ws with "Bearer good": accepted, every callback recorded in `events`.
// Another token: 401; another path: 404.
UpgradeHandler PresenceEndpoint(std::shared_ptr<WsEvents> events) {
  return [events](const HttpRequest& req) -> std::variant<WebSocketCallbacks, HttpResponse> {
    {
      std::lock_guard lock(events->mu);
      ++events->upgrade_calls;
    }
    if (req.path != "/api/v1/agent/ws") {
      return Text(404, "not found");
    }
    if (req.Header("authorization") != "Bearer good") {
      HttpResponse res = Text(401, R"({"status":401})");
      res.SetHeader("content-type", "application/problem+json");
      res.SetHeader("www-authenticate", "Bearer");
      return res;
    }
    WebSocketCallbacks callbacks;
    callbacks.on_open = [events](std::shared_ptr<WebSocketConnection> conn) {
      std::lock_guard lock(events->mu);
      events->opened.push_back(std::move(conn));
      events->cv.notify_all();
    };
    callbacks.on_message = [events](std::string_view message) {
      std::lock_guard lock(events->mu);
      events->messages.emplace_back(message);
      events->cv.notify_all();
    };
    callbacks.on_close = [events] {
      std::lock_guard lock(events->mu);
      ++events->closes;
      events->cv.notify_all();
    };
    return callbacks;
  };
}

ServerOptions WsOptions() {
  ServerOptions o = FastOptions();
  o.websocket_idle_timeout = 5000ms;
  return o;
}

void AddDecoration(const HttpRequest* /*req*/, HttpResponse& res) {
  res.SetHeader("x-decorated", "yes");
}

TEST(WebSocketTest, MessagesFlowBothWaysAndCloseIsReportedOnce) {
  auto events = std::make_shared<WsEvents>();
  auto ts = TestServer::Start(WsOptions(), Echo, nullptr, PresenceEndpoint(events));
  ASSERT_TRUE(ts);
  WsClient client(ts->port());
  ASSERT_EQ(client.Connect(), 101) << client.last_error().message();
  EXPECT_EQ(client.headers().at("server"), "vigild");
  ASSERT_TRUE(events->WaitFor([&] { return events->opened.size() == 1; }));
  auto conn = events->Opened(0);
  EXPECT_EQ(conn->remote_address(), "127.0.0.1");

  conn->Send(R"({"type":"config","revision":8})");
  conn->Send("second");
  EXPECT_EQ(client.Read(), R"({"type":"config","revision":8})");
  EXPECT_EQ(client.Read(), "second");

  ASSERT_TRUE(client.Write("hello"));
  ASSERT_TRUE(client.Write("world"));
  ASSERT_TRUE(client.Ping());
  ASSERT_TRUE(events->WaitFor([&] { return events->messages.size() == 2; }));
  EXPECT_EQ(events->messages, (std::vector<std::string>{"hello", "world"}));

  ASSERT_TRUE(client.Close()) << client.last_error().message();
  ASSERT_TRUE(events->WaitFor([&] { return events->closes >= 1; }));
  conn->Send("after close");  // ignored
  conn->Close();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(events->Closes(), 1);
}

TEST(WebSocketTest, ServerCloseFlushesQueuedMessages) {
  auto events = std::make_shared<WsEvents>();
  auto ts = TestServer::Start(WsOptions(), Echo, nullptr, PresenceEndpoint(events));
  ASSERT_TRUE(ts);
  WsClient client(ts->port());
  ASSERT_EQ(client.Connect(), 101);
  ASSERT_TRUE(events->WaitFor([&] { return events->opened.size() == 1; }));
  auto conn = events->Opened(0);
  conn->Send("one");
  conn->Send("two");
  conn->Close();
  EXPECT_EQ(client.Read(), "one");
  EXPECT_EQ(client.Read(), "two");
  EXPECT_FALSE(client.Read());
  EXPECT_EQ(client.last_error(), websocket::error::closed);
  EXPECT_EQ(client.close_code(), 1000);
  ASSERT_TRUE(events->WaitFor([&] { return events->closes == 1; }));
}

TEST(WebSocketTest, RefusalIsAnOrdinaryDecoratedResponse) {
  auto events = std::make_shared<WsEvents>();
  auto ts = TestServer::Start(WsOptions(), Echo, AddDecoration, PresenceEndpoint(events));
  ASSERT_TRUE(ts);
  {
    WsClient client(ts->port());
    EXPECT_EQ(client.Connect("/api/v1/agent/ws", "stolen"), 401);
    EXPECT_EQ(client.last_error(), websocket::error::upgrade_declined);
    EXPECT_EQ(client.headers().at("x-decorated"), "yes");
    EXPECT_EQ(client.headers().at("www-authenticate"), "Bearer");
  }
  {
    WsClient client(ts->port());
    EXPECT_EQ(client.Connect("/api/v1/agent/ws", ""), 401);
  }
  {
    WsClient client(ts->port());
    EXPECT_EQ(client.Connect("/elsewhere"), 404);
  }
  std::lock_guard lock(events->mu);
  EXPECT_EQ(events->upgrade_calls, 3);
  EXPECT_TRUE(events->opened.empty());
  EXPECT_EQ(events->closes, 0);
}

TEST(WebSocketTest, PlainRequestToTheSamePathGoesToTheHandler) {
  auto events = std::make_shared<WsEvents>();
  auto ts = TestServer::Start(WsOptions(), Echo, nullptr, PresenceEndpoint(events));
  ASSERT_TRUE(ts);
  HttpClient client(FastClient());
  auto res = client.Send("GET", ts->Url("/api/v1/agent/ws"), {{"Authorization", "Bearer good"}});
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("path=/api/v1/agent/ws\n"));
  // An upgrade to something else than websocket is not a WebSocket upgrade either.
  RawConn raw(ts->port());
  ASSERT_TRUE(
      raw.Send("GET /api/v1/agent/ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n"
               "Upgrade: h2c\r\n\r\n"));
  auto raw_res = raw.ReadResponse();
  ASSERT_TRUE(raw_res);
  EXPECT_EQ(raw_res->status, 200);
  std::lock_guard lock(events->mu);
  EXPECT_EQ(events->upgrade_calls, 0);
}

TEST(WebSocketTest, WithoutUpgradeHandlerUpgradesGoToTheHandler) {
  auto ts = TestServer::Start(WsOptions(), [](const HttpRequest&) { return Text(404, "no"); });
  ASSERT_TRUE(ts);
  WsClient client(ts->port());
  EXPECT_EQ(client.Connect(), 404);
}

TEST(WebSocketTest, IdleTimeoutCountsPingsAndEndsTheConnection) {
  auto events = std::make_shared<WsEvents>();
  auto options = WsOptions();
  options.websocket_idle_timeout = 300ms;
  auto ts = TestServer::Start(options, Echo, nullptr, PresenceEndpoint(events));
  ASSERT_TRUE(ts);
  WsClient client(ts->port());
  ASSERT_EQ(client.Connect(), 101);
  for (int i = 0; i < 6; ++i) {  // 600 ms of pings every 100 ms keep it open
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(client.Ping()) << i;
  }
  EXPECT_EQ(events->Closes(), 0);
  const auto start = Clock::now();
  ASSERT_TRUE(events->WaitFor([&] { return events->closes == 1; }, 2000ms));
  EXPECT_LT(Clock::now() - start, 1000ms);
  EXPECT_FALSE(client.Read(1000ms));
  EXPECT_NE(client.last_error(), asio::error::timed_out);
}

TEST(WebSocketTest, OversizedMessageClosesTheConnection) {
  auto events = std::make_shared<WsEvents>();
  auto options = WsOptions();
  options.websocket_max_message_bytes = 1024;
  auto ts = TestServer::Start(options, Echo, nullptr, PresenceEndpoint(events));
  ASSERT_TRUE(ts);
  WsClient client(ts->port());
  ASSERT_EQ(client.Connect(), 101);
  ASSERT_TRUE(client.Write(std::string(1024, 'a')));  // at the limit: fine
  ASSERT_TRUE(events->WaitFor([&] { return events->messages.size() == 1; }));
  client.Write(std::string(2000, 'b'));
  EXPECT_FALSE(client.Read());
  EXPECT_NE(client.last_error(), asio::error::timed_out);
  EXPECT_EQ(client.close_code(), 1009);  // message too big
  ASSERT_TRUE(events->WaitFor([&] { return events->closes == 1; }));
  std::lock_guard lock(events->mu);
  EXPECT_EQ(events->messages.size(), 1u);
}

TEST(WebSocketTest, PeerThatDoesNotReadIsDropped) {
  auto events = std::make_shared<WsEvents>();
  auto options = WsOptions();
  options.websocket_max_queued_bytes = 256 << 10;
  auto ts = TestServer::Start(options, Echo, nullptr, PresenceEndpoint(events));
  ASSERT_TRUE(ts);
  WsClient client(ts->port());
  ASSERT_EQ(client.Connect(), 101);
  ASSERT_TRUE(events->WaitFor([&] { return events->opened.size() == 1; }));
  auto conn = events->Opened(0);
  const std::string chunk(64 << 10, 'x');
  for (int i = 0; i < 512 && events->Closes() == 0; ++i) {  // at most 32 MiB
    conn->Send(chunk);
    if (i % 16 == 15) {
      std::this_thread::sleep_for(5ms);
    }
  }
  EXPECT_TRUE(events->WaitFor([&] { return events->closes == 1; }));
}

TEST(WebSocketTest, ShutdownClosesWithGoingAway) {
  auto events = std::make_shared<WsEvents>();
  auto options = WsOptions();
  options.shutdown_grace = 3000ms;
  auto ts = TestServer::Start(options, Echo, nullptr, PresenceEndpoint(events));
  ASSERT_TRUE(ts);
  WsClient first(ts->port());
  WsClient second(ts->port());
  ASSERT_EQ(first.Connect(), 101);
  ASSERT_EQ(second.Connect(), 101);
  ASSERT_TRUE(events->WaitFor([&] { return events->opened.size() == 2; }));

  const auto start = Clock::now();
  ts->server().Shutdown();
  for (WsClient* client : {&first, &second}) {
    EXPECT_FALSE(client->Read());
    EXPECT_EQ(client->last_error(), websocket::error::closed);
    EXPECT_EQ(client->close_code(), 1001);
  }
  EXPECT_TRUE(ts->WaitStopped(1000ms));
  EXPECT_LT(Clock::now() - start, 1000ms);
  EXPECT_EQ(events->Closes(), 2);
}

TEST(WebSocketTest, ConnectionsPastTheLimitAre503) {
  auto events = std::make_shared<WsEvents>();
  auto options = WsOptions();
  options.max_websockets = 2;
  auto ts = TestServer::Start(options, Echo, nullptr, PresenceEndpoint(events));
  ASSERT_TRUE(ts);
  auto first = std::make_unique<WsClient>(ts->port());
  WsClient second(ts->port());
  WsClient third(ts->port());
  ASSERT_EQ(first->Connect(), 101);
  ASSERT_EQ(second.Connect(), 101);
  EXPECT_EQ(third.Connect(), 503);
  ASSERT_TRUE(first->Close());
  first.reset();
  ASSERT_TRUE(events->WaitFor([&] { return events->closes == 1; }));
  // The slot is given back when the session is gone, just after on_close.
  bool accepted = false;
  for (int i = 0; i < 50 && !accepted; ++i) {
    WsClient again(ts->port());
    accepted = again.Connect() == 101;
    if (!accepted) {
      std::this_thread::sleep_for(10ms);
    }
  }
  EXPECT_TRUE(accepted);
}

TEST(WebSocketTest, ManyConcurrentClients) {
  constexpr int kClients = 200;
  auto events = std::make_shared<WsEvents>();
  auto ts = TestServer::Start(WsOptions(), Echo, nullptr, PresenceEndpoint(events));
  ASSERT_TRUE(ts);
  std::vector<std::unique_ptr<WsClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<WsClient>(ts->port()));
    ASSERT_EQ(clients.back()->Connect(), 101) << i;
  }
  ASSERT_TRUE(events->WaitFor([&] { return events->opened.size() == kClients; }));
  std::vector<std::shared_ptr<WebSocketConnection>> opened;
  {
    std::lock_guard lock(events->mu);
    opened = events->opened;
  }
  for (auto& conn : opened) {
    conn->Send("ping from the server");
  }
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(clients[i]->Read(), "ping from the server") << i;
    ASSERT_TRUE(clients[i]->Write("hi " + std::to_string(i)));
  }
  ASSERT_TRUE(events->WaitFor([&] { return events->messages.size() == kClients; }));
  for (int i = 0; i < kClients / 2; ++i) {
    ASSERT_TRUE(clients[i]->Close()) << i;
  }
  ASSERT_TRUE(events->WaitFor([&] { return events->closes == kClients / 2; }));
  ts->server().Shutdown();  // closes the other half
  for (int i = kClients / 2; i < kClients; ++i) {
    EXPECT_FALSE(clients[i]->Read()) << i;
    EXPECT_EQ(clients[i]->close_code(), 1001) << i;
  }
  EXPECT_TRUE(ts->WaitStopped(1000ms));
  EXPECT_EQ(events->Closes(), kClients);
}

TEST(WebSocketTlsTest, WorksOverTls) {
  auto tls = MakeSelfSigned();
  ASSERT_TRUE(tls);
  auto events = std::make_shared<WsEvents>();
  auto options = WsOptions();
  options.tls_cert_file = tls->cert;
  options.tls_key_file = tls->key;
  auto ts = TestServer::Start(options, Echo, nullptr, PresenceEndpoint(events));
  ASSERT_TRUE(ts);
  {
    TlsWsClient refused(ts->port());
    EXPECT_EQ(refused.Connect("/api/v1/agent/ws", "stolen"), 401);
  }
  TlsWsClient client(ts->port());
  ASSERT_EQ(client.Connect(), 101) << client.last_error().message();
  ASSERT_TRUE(events->WaitFor([&] { return events->opened.size() == 1; }));
  events->Opened(0)->Send(R"({"type":"config","revision":8})");
  EXPECT_EQ(client.Read(), R"({"type":"config","revision":8})");
  ASSERT_TRUE(client.Write("over tls"));
  ASSERT_TRUE(events->WaitFor([&] { return events->messages.size() == 1; }));
  EXPECT_EQ(events->messages[0], "over tls");

  ts->server().Shutdown();
  EXPECT_FALSE(client.Read());
  EXPECT_EQ(client.close_code(), 1001);
  EXPECT_TRUE(ts->WaitStopped(1500ms));
  EXPECT_EQ(events->Closes(), 1);
}

// ---------------------------------------------------------------------------------------------
// HttpClient errors

TEST(HttpClientTest, SendsMethodsAndEmptyBodies) {
  auto ts = TestServer::Start(FastOptions(), Echo);
  ASSERT_TRUE(ts);
  HttpClient client(FastClient());
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE", "GET"}) {
    auto res = client.Send(method, ts->Url("/m"), {{"X-Test", ""}});
    ASSERT_TRUE(res.has_value()) << method << ": " << res.error().ToString();
    EXPECT_EQ(res->status, 200) << method;
    EXPECT_THAT(res->body, HasSubstr(std::string("method=") + method + "\n"));
    EXPECT_THAT(res->body, HasSubstr("x-test=\n"));  // sent with an empty value
    EXPECT_THAT(res->body, ::testing::EndsWith("body="));
  }
  auto head = client.Send("HEAD", ts->Url("/m"), {});
  ASSERT_TRUE(head.has_value()) << head.error().ToString();
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->body.empty());
}

TEST(HttpClientTest, ResponseOverLimitIsResourceExhausted) {
  auto ts = TestServer::Start(FastOptions(), [](const HttpRequest& req) {
    return Text(200, std::string(req.path == "/big" ? 10'000 : 10, 'b'));
  });
  ASSERT_TRUE(ts);
  ClientOptions copts = FastClient();
  copts.max_response_bytes = 1024;
  HttpClient client(copts);
  auto big = client.Send("GET", ts->Url("/big"), {});
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code(), ErrorCode::kResourceExhausted);
  auto small = client.Send("GET", ts->Url("/small"), {});  // still usable
  ASSERT_TRUE(small.has_value()) << small.error().ToString();
  EXPECT_EQ(small->body, std::string(10, 'b'));
}

TEST(HttpClientTest, UnreachableServerIsUnavailable) {
  uint16_t port;
  {
    auto ts = TestServer::Start(FastOptions(), Echo);
    ASSERT_TRUE(ts);
    port = ts->port();
  }
  ClientOptions copts = FastClient();
  copts.timeout = 1000ms;
  HttpClient client(copts);
  auto res = client.Send("GET", "http://127.0.0.1:" + std::to_string(port) + "/", {});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable);
}

TEST(HttpClientTest, MalformedInputIsInvalidArgument) {
  HttpClient client(FastClient());
  auto scheme = client.Send("GET", "ftp://127.0.0.1/", {});
  ASSERT_FALSE(scheme.has_value());
  EXPECT_EQ(scheme.error().code(), ErrorCode::kInvalidArgument);
  auto method = client.Send("GE T", "http://127.0.0.1/", {});
  ASSERT_FALSE(method.has_value());
  EXPECT_EQ(method.error().code(), ErrorCode::kInvalidArgument);
  auto header = client.Send("GET", "http://127.0.0.1/", {{"x-a", "1\r\nx-b: 2"}});
  ASSERT_FALSE(header.has_value());
  EXPECT_EQ(header.error().code(), ErrorCode::kInvalidArgument);
}

TEST(HttpClientTest, ClientTimeoutIsUnavailable) {
  auto ts = TestServer::Start(FastOptions(), [](const HttpRequest&) {
    std::this_thread::sleep_for(500ms);
    return Text(200, "slow");
  });
  ASSERT_TRUE(ts);
  ClientOptions copts = FastClient();
  copts.timeout = 100ms;
  HttpClient client(copts);
  auto res = client.Send("GET", ts->Url("/"), {});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable);
}

// A listening socket on the loopback whose connections are handed, one after another, to `serve`
// on a background thread: for servers HttpServer will not imitate (closing kept-alive connections,
// answering without Content-Length). `serve` returns false to stop accepting.
class RawServer {
 public:
  using Serve = std::function<bool(int fd)>;

  // Listens on 127.0.0.1 (or ::1 with AF_INET6); ok() is false when that is impossible.
  explicit RawServer(Serve serve, int family = AF_INET) : serve_(std::move(serve)) {
    fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_storage addr{};
    socklen_t len;
    if (family == AF_INET6) {
      auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
      a6->sin6_family = AF_INET6;
      a6->sin6_addr = in6addr_loopback;
      len = sizeof *a6;
    } else {
      auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
      a4->sin_family = AF_INET;
      a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      len = sizeof *a4;
    }
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(fd_, 8) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len)) {
      return;
    }
    port_ = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                     : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    if (serve_) {
      thread_ = std::thread([this] {
        for (;;) {
          int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (conn < 0) {
            return;  // shut down
          }
          ++accepted_;
          bool more = serve_(conn);
          ::close(conn);
          if (!more) {
            return;
          }
        }
      });
    }
  }
  ~RawServer() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    if (thread_.joinable()) {
      thread_.join();
    }
    ::close(fd_);
  }
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  bool ok() const { return port_ != 0; }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  // Reads up to the end of a request header (the tests send no bodies); "" on EOF or after 3 s.
  static std::string ReadRequestHead(int fd) {
    std::string head;
    while (head.find("\r\n\r\n") == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      char tmp[1024];
      if (::poll(&p, 1, 3000) <= 0) {
        return "";
      }
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) {
        return "";
      }
      head.append(tmp, static_cast<size_t>(n));
    }
    return head;
  }
  static bool SendAll(int fd, std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

 private:
  Serve serve_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

std::string OkResponse(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

TEST(HttpClientTest, KeepAliveReusesOneConnection) {
  // The server takes one connection only and answers three requests on it: a client opening a
  // second connection would wait in the backlog and time out.
  RawServer server([](int fd) {
    for (int i = 0; i < 3; ++i) {
      std::string head = RawServer::ReadRequestHead(fd);
      if (head.empty() ||
          !RawServer::SendAll(fd, OkResponse("answer " + std::to_string(i) + " to " +
                                             head.substr(0, head.find(' '))))) {
        break;
      }
    }
    return false;
  });
  ASSERT_TRUE(server.ok());
  HttpClient client(FastClient());
  for (int i = 0; i < 3; ++i) {
    auto res = client.Send(i == 1 ? "DELETE" : "GET", server.Url("/k"), {});
    ASSERT_TRUE(res.has_value()) << i << ": " << res.error().ToString();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "answer " + std::to_string(i) + " to " + (i == 1 ? "DELETE" : "GET"));
  }
  EXPECT_EQ(server.accepted(), 1);
}

TEST(HttpClientTest, KeptAliveConnectionClosedByServerIsReplaced) {
  // Each connection answers one request without "Connection: close", then is closed: the next
  // call finds its kept-alive connection dead and must open another, transparently.
  std::promise<void> first_closed;
  std::atomic<int> served{0};
  RawServer server([&](int fd) {
    std::string head = RawServer::ReadRequestHead(fd);
    if (!head.empty()) {
      RawServer::SendAll(fd, OkResponse("conn " + std::to_string(served.load())));
    }
    ::shutdown(fd, SHUT_RDWR);
    if (++served == 1) {
      // The FIN is on its way before the test sends again; close() follows in RawServer.
      first_closed.set_value();
    }
    return served < 2;
  });
  ASSERT_TRUE(server.ok());
  HttpClient client(FastClient());
  auto first = client.Send("GET", server.Url("/a"), {});
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_EQ(first->body, "conn 0");
  ASSERT_EQ(first_closed.get_future().wait_for(3s), std::future_status::ready);
  std::this_thread::sleep_for(20ms);  // let the FIN reach the client's socket
  auto second = client.Send("POST", server.Url("/b"), {}, "x");
  ASSERT_TRUE(second.has_value()) << second.error().ToString();
  EXPECT_EQ(second->body, "conn 1");
  EXPECT_EQ(server.accepted(), 2);
}

TEST(HttpClientTest, ServerThatNeverAnswersTimesOut) {
  // Listening without accept(): the kernel completes the TCP handshake, nobody ever reads or
  // writes. Neither a plain request nor a TLS handshake may outlast the timeout.
  RawServer silent(nullptr);
  ASSERT_TRUE(silent.ok());
  ClientOptions copts = FastClient();
  copts.timeout = 300ms;
  copts.verify_tls = false;
  HttpClient client(copts);
  for (const std::string scheme : {"http", "https"}) {
    const auto start = Clock::now();
    auto res =
        client.Send("GET", scheme + "://127.0.0.1:" + std::to_string(silent.port()) + "/", {});
    const auto took = Clock::now() - start;
    ASSERT_FALSE(res.has_value()) << scheme;
    EXPECT_EQ(res.error().code(), ErrorCode::kUnavailable) << scheme;
    EXPECT_THAT(res.error().message(), HasSubstr("timed out")) << scheme;
    EXPECT_GE(took, 290ms) << scheme;
    EXPECT_LT(took, 1500ms) << scheme;
  }
}

TEST(HttpClientTest, ChunkedResponseOverLimitIsResourceExhausted) {
  // No Content-Length to refuse up front: the limit must hold while the chunks arrive.
  RawServer server([](int fd) {
    if (!RawServer::ReadRequestHead(fd).empty()) {
      std::string chunk(1000, 'c');
      std::string out = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      for (int i = 0; i < 5; ++i) {
        out += "3e8\r\n" + chunk + "\r\n";
      }
      out += "0\r\n\r\n";
      RawServer::SendAll(fd, out);
    }
    return true;
  });
  ASSERT_TRUE(server.ok());
  ClientOptions copts = FastClient();
  copts.max_response_bytes = 2500;
  HttpClient client(copts);
  auto res = client.Send("GET", server.Url("/chunked"), {});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kResourceExhausted);
  copts.max_response_bytes = 5000;
  HttpClient roomy(copts);
  auto fits = roomy.Send("GET", server.Url("/chunked"), {});
  ASSERT_TRUE(fits.has_value()) << fits.error().ToString();
  EXPECT_EQ(fits->body, std::string(5000, 'c'));
}

TEST(HttpClientTest, MalformedUrlsAreInvalidArgument) {
  HttpClient client(FastClient());
  for (const char* url :
       {"", "127.0.0.1:80/", "http://", "http:///path", "http://host:0/", "http://host:65536/",
        "http://host:8x/", "http://user@host/", "http://ho st/", "http://host/a b", "http://[::1/",
        "http://[nope]/", "gopher://host/", "http://h\xc3\xa9/"}) {
    auto res = client.Send("GET", url, {});
    ASSERT_FALSE(res.has_value()) << url;
    EXPECT_EQ(res.error().code(), ErrorCode::kInvalidArgument) << url;
  }
  ClientOptions bad_pin = FastClient();
  bad_pin.pinned_public_key = "sha1//abc";
  HttpClient pinned(bad_pin);
  auto res = pinned.Send("GET", "https://127.0.0.1:1/", {});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code(), ErrorCode::kInvalidArgument);
}

TEST(HttpClientTest, UrlPartsReachTheServer) {
  std::promise<std::string> seen;
  RawServer server([&](int fd) {
    seen.set_value(RawServer::ReadRequestHead(fd));
    RawServer::SendAll(fd, OkResponse("ok"));
    return false;
  });
  ASSERT_TRUE(server.ok());
  HttpClient client(FastClient());
  auto res = client.Send("GET", "HTTP://127.0.0.1:" + std::to_string(server.port()) + "?q=1#frag",
                         {{"X-Test", ""}});
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  std::string head = seen.get_future().get();
  EXPECT_THAT(head, ::testing::StartsWith("GET /?q=1 HTTP/1.1\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"));
  EXPECT_THAT(head, ::testing::Not(HasSubstr("Content-Length")));
}

TEST(HttpClientTest, Ipv6LiteralInBrackets) {
  RawServer server(
      [](int fd) {
        std::string head = RawServer::ReadRequestHead(fd);
        size_t host = head.find("Host: ");
        RawServer::SendAll(fd, OkResponse(host == std::string::npos
                                              ? ""
                                              : head.substr(host, head.find('\r', host) - host)));
        return false;
      },
      AF_INET6);
  if (!server.ok()) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  HttpClient client(FastClient());
  auto res = client.Send("GET", "http://[::1]:" + std::to_string(server.port()) + "/", {});
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  EXPECT_EQ(res->body, "Host: [::1]:" + std::to_string(server.port()));
}

TEST(HttpClientTest, WrongPinIsRefusedEvenWithATrustedCertificate) {
  auto tls = MakeSelfSigned();
  ASSERT_TRUE(tls);
  auto options = FastOptions();
  options.tls_cert_file = tls->cert;
  options.tls_key_file = tls->key;
  auto ts = TestServer::Start(options, Echo);
  ASSERT_TRUE(ts);
  const std::string url = "https://localhost:" + std::to_string(ts->port()) + "/";

  ClientOptions copts = FastClient();
  copts.ca_file = tls->cert;  // verification succeeds: only the pin is wrong
  copts.pinned_public_key = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  HttpClient wrong(copts);
  auto refused = wrong.Send("GET", url, {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnavailable);
  EXPECT_THAT(refused.error().message(), HasSubstr(tls->pin));  // names the key it saw

  copts.pinned_public_key = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;" + tls->pin;
  HttpClient right(copts);
  for (int i = 0; i < 2; ++i) {
    auto res = right.Send("GET", url, {});
    ASSERT_TRUE(res.has_value()) << res.error().ToString();
    EXPECT_EQ(res->status, 200);
  }

  // Host name verification: the certificate is for "localhost", not for "127.0.0.1".
  copts.pinned_public_key.clear();
  HttpClient by_ip(copts);
  auto mismatch = by_ip.Send("GET", ts->Url("/", /*tls=*/true), {});
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_EQ(mismatch.error().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace vigil::net
