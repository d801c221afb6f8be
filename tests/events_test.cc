// The live event stream GET /api/v1/events behind the real HTTP server, with a Beast WebSocket
// client: who may open it (every role, the owner's two-factor policy, Origin), which events each
// role × tenant receives, presence of agents, and the end of the stream when the credential ends
// (sign-out, expiry, disabled user, revoked token, password change) or the peer misbehaves.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "api_fixture.h"
#include "server/event_hub.h"

namespace vigil::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using domain::Role;
using nlohmann::json;
using namespace std::chrono_literals;

// A WebSocket client on Beast. Every operation runs the client's own io_context for at most its
// timeout; on a timeout the socket is closed (so a test never waits for "no message").
class WsClient {
 public:
  explicit WsClient(uint16_t port) : port_(port), ws_(ioc_) {}

  // Asks for an upgrade of `target` with `headers` (lower-case names). Returns the status of the
  // handshake's response (101 when accepted), 0 when there was none.
  int Connect(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
    asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port_);
    if (Await([&](auto h) { beast::get_lowest_layer(ws_).async_connect(endpoint, h); })) {
      return 0;
    }
    ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
      for (const auto& [k, v] : headers) {
        req.set(k, v);
      }
    }));
    websocket::response_type res;
    std::string host = fmt::format("127.0.0.1:{}", port_);
    last_error_ = Await([&](auto h) { ws_.async_handshake(res, host, target, h); });
    headers_.clear();
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (char& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      headers_[name] = std::string(field.value());
    }
    body_ = res.body();
    return static_cast<int>(res.result_int());
  }

  bool Write(const std::string& text, bool binary = false) {
    ws_.binary(binary);
    last_error_ = Await([&](auto h) { ws_.async_write(asio::buffer(text), h); });
    return !last_error_;
  }

  // The next message; nullopt when the connection ends (see last_error(), close_code()) or after
  // `timeout`.
  std::optional<std::string> Read(std::chrono::milliseconds timeout = 3000ms) {
    beast::flat_buffer buffer;
    last_error_ = Await([&](auto h) { ws_.async_read(buffer, h); }, timeout);
    if (last_error_) {
      return std::nullopt;
    }
    return beast::buffers_to_string(buffer.data());
  }
  // The next message as JSON; an empty object (and a test failure) when none arrives or it is not
  // JSON.
  json ReadJson(std::chrono::milliseconds timeout = 3000ms) {
    auto m = Read(timeout);
    if (!m) {
      ADD_FAILURE() << "no message: " << last_error_.message();
      return json::object();
    }
    json j = json::parse(*m, nullptr, false);
    if (!j.is_object()) {
      ADD_FAILURE() << "not a JSON object: " << *m;
      return json::object();
    }
    return j;
  }
  // Sends "ping" and expects {"type":"pong"} as the very next message: everything sent before it
  // has been read, so nothing else was queued for this client.
  void ExpectPongNext(const std::string& what) {
    ASSERT_TRUE(Write("ping")) << what << ": " << last_error_.message();
    json m = ReadJson();
    EXPECT_EQ(m, json({{"type", "pong"}})) << what;
  }
  // True when the server ended the connection (a close frame or the socket closed).
  bool ExpectClosed() {
    auto m = Read();
    if (m) {
      ADD_FAILURE() << "expected the end of the stream, got " << *m;
      return false;
    }
    return last_error_ != asio::error::timed_out;
  }

  beast::error_code last_error() const { return last_error_; }
  int close_code() const { return static_cast<int>(ws_.reason().code); }
  std::string Header(const std::string& name) const {
    auto it = headers_.find(name);
    return it == headers_.end() ? "" : it->second;
  }
  const std::string& body() const { return body_; }

 private:
  template <typename Start>
  beast::error_code Await(Start start, std::chrono::milliseconds timeout = 3000ms) {
    std::optional<beast::error_code> result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run_for(timeout);
    if (!result) {
      beast::get_lowest_layer(ws_).close();
      ioc_.restart();
      ioc_.run_for(500ms);
      return asio::error::timed_out;
    }
    return *result;
  }

  const uint16_t port_;
  asio::io_context ioc_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::error_code last_error_;
  std::map<std::string, std::string> headers_;
  std::string body_;
};

// An App (the fixture's) behind the real HTTP server, WebSocket upgrades included.
class ServedApp {
 public:
  explicit ServedApp(const std::string& store = "sqlite") : f_(store) {
    net::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.io_threads = 1;
    o.worker_threads = 2;
    server::App* app = &f_.app();
    auto s = net::HttpServer::Create(
        o, [app](const net::HttpRequest& r) { return app->Handle(r); },
        [app](const net::HttpRequest* r, net::HttpResponse& resp) { app->Decorate(r, resp); },
        [app](const net::HttpRequest& r) { return app->Upgrade(r); });
    EXPECT_TRUE(s.has_value()) << s.status().ToString();
    server_ = std::move(*s);
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~ServedApp() {
    server_->Shutdown();
    thread_.join();
  }
  uint16_t port() const { return server_->port(); }
  ApiFixture& f() { return f_; }

  // Opens the event stream as `who` (cookie or token) and reads its "hello".
  std::unique_ptr<WsClient> Stream(const Auth& who,
                                   std::map<std::string, std::string> headers = {}) {
    auto c = std::make_unique<WsClient>(port());
    if (!who.cookie.empty()) {
      headers["cookie"] = "vigil_session=" + who.cookie;
    }
    if (!who.bearer.empty()) {
      headers["authorization"] = "Bearer " + who.bearer;
    }
    int status = c->Connect("/api/v1/events", headers);
    EXPECT_EQ(status, 101) << c->body();
    if (status == 101) {
      json hello = c->ReadJson();
      EXPECT_EQ(hello.value("type", ""), "hello") << hello.dump();
      EXPECT_TRUE(ParseRfc3339(hello.value("server_time", "")).has_value()) << hello.dump();
    }
    return c;
  }

  // Waits until the hub counts `n` connections (registration follows the 101 response).
  bool WaitConnected(size_t n) {
    for (int i = 0; i < 300; ++i) {
      if (f_.app().events().connected() == n) {
        return true;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

 private:
  ApiFixture f_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
};

json Observation(const std::string& check, const std::string& target, const std::string& status,
                 TimePoint at) {
  return {{"observed_at", FormatRfc3339(at)},
          {"result",
           {{"check", check},
            {"target", target},
            {"status", status},
            {"message", check + " is " + status},
            {"metrics", json::array()}}}};
}

// Posts a batch of one result as the device's agent; the result must change the check's status.
void Report(ApiFixture& f, const ApiFixture::EnrolledDevice& dev, uint64_t seq,
            const std::string& status, const std::string& check = "disk") {
  json batch = {{"version", 1},
                {"agent_version", "0.1.0"},
                {"sequence", seq},
                {"sent_at", FormatRfc3339(f.clock().Now())},
                {"observations", json::array({Observation(check, "/", status, f.clock().Now())})}};
  auto r = f.Call("POST", "/api/v1/agent/batches", dev.auth(), batch);
  ASSERT_EQ(r.status, 200) << r.raw;
}

bool IsCheckEventOf(const json& m, const ApiFixture::EnrolledDevice& dev) {
  return m.is_object() && m.value("type", "") == "check" &&
         m.value("device_id", int64_t{0}) == Raw(dev.id);
}

// The hub alone: who gets a published event, and which connections each Close* picks.
TEST(EventHubTest, PublishesByScopeAndClosesBySessionUserOrToken) {
  server::EventHub hub;
  std::map<std::string, std::vector<std::string>> got;
  std::map<std::string, int> closed;
  std::map<std::string, uint64_t> tickets;
  auto add = [&](const std::string& name, server::EventHub::Subscriber who) {
    tickets[name] = hub.Register(
        who, [&got, name](std::string text) { got[name].push_back(std::move(text)); },
        [&, name] {
          ++closed[name];
          hub.Unregister(tickets[name]);  // as on_close does; the hub's lock is not held
        });
  };
  const ClientId a{1}, b{2};
  add("staff", {std::nullopt, UserId{1}, SessionId{10}, std::nullopt});
  add("a-session", {a, UserId{2}, SessionId{20}, std::nullopt});
  add("a-other-session", {a, UserId{2}, SessionId{21}, std::nullopt});
  add("a-token", {a, UserId{2}, std::nullopt, TokenId{5}});
  add("b-token", {b, UserId{3}, std::nullopt, TokenId{6}});
  EXPECT_EQ(hub.connected(), 5u);

  EXPECT_EQ(hub.Publish(a, "to a"), 4u);
  EXPECT_EQ(hub.Publish(b, "to b"), 2u);
  EXPECT_EQ(hub.Publish(ClientId{3}, "to c"), 1u);
  EXPECT_EQ(got["staff"], (std::vector<std::string>{"to a", "to b", "to c"}));
  EXPECT_EQ(got["a-session"], std::vector<std::string>{"to a"});
  EXPECT_EQ(got["a-token"], std::vector<std::string>{"to a"});
  EXPECT_EQ(got["b-token"], std::vector<std::string>{"to b"});

  EXPECT_EQ(hub.CloseSession(SessionId{99}), 0u);
  EXPECT_EQ(hub.CloseUserSessions(UserId{2}, SessionId{20}), 1u);  // not the keeper nor the token
  EXPECT_EQ(closed, (std::map<std::string, int>{{"a-other-session", 1}}));
  EXPECT_EQ(hub.CloseToken(TokenId{6}), 1u);
  EXPECT_EQ(hub.CloseSession(SessionId{10}), 1u);
  EXPECT_EQ(hub.CloseUser(UserId{2}), 2u);  // its session and its token
  EXPECT_EQ(hub.connected(), 0u);
  EXPECT_EQ(hub.Publish(a, "nobody"), 0u);
  hub.Unregister(tickets["staff"]);  // twice: ignored
  hub.Unregister(12345);
}

TEST(EventsTest, StaffSeesEveryClientAClientUserOnlyItsOwn) {
  ServedApp s;
  ApiFixture& f = s.f();
  ClientId a = f.CreateClient("A GmbH");
  ClientId b = f.CreateClient("B Ltd");
  auto dev_a = f.EnrollDevice(a, "a-1");
  auto dev_b = f.EnrollDevice(b, "b-1");
  std::string tech_email, cu_email;
  f.UserWithToken(Role::kTechnician, std::nullopt, &tech_email);
  f.UserWithToken(Role::kClientUser, a, &cu_email);
  auto staff = s.Stream(f.Login(tech_email));
  auto client_a = s.Stream(f.Login(cu_email));
  ASSERT_TRUE(s.WaitConnected(2));

  Report(f, dev_b, 1, "critical");  // B first: were it sent to A's user, it would come first
  Report(f, dev_a, 1, "ok");

  json first = staff->ReadJson();
  ASSERT_TRUE(IsCheckEventOf(first, dev_b)) << first.dump();
  EXPECT_EQ(first, json({{"type", "check"},
                         {"device_id", Raw(dev_b.id)},
                         {"client_id", Raw(b)},
                         {"check", "disk"},
                         {"target", "/"},
                         {"status", "critical"},
                         {"previous", nullptr},
                         {"message", "disk is critical"},
                         {"at", first.value("at", "")}}));
  EXPECT_TRUE(ParseRfc3339(first.value("at", "")).has_value());
  EXPECT_TRUE(IsCheckEventOf(staff->ReadJson(), dev_a));
  staff->ExpectPongNext("staff");

  json only = client_a->ReadJson();
  EXPECT_TRUE(IsCheckEventOf(only, dev_a)) << only.dump();
  EXPECT_EQ(only.value("client_id", int64_t{0}), Raw(a));
  client_a->ExpectPongNext("client user of A");

  // A change from a known status names the previous one.
  Report(f, dev_a, 2, "warning");
  json change = client_a->ReadJson();
  EXPECT_EQ(change.value("status", ""), "warning");
  EXPECT_EQ(change.value("previous", json()), "ok");
  // A batch that changes nothing sends nothing.
  Report(f, dev_a, 3, "warning");
  client_a->ExpectPongNext("unchanged status");
}

// The role × tenant point of the stream (tests/role_tenant_test.cc walks the routes; the
// WebSocket is not dispatched through them): every role opens it, with a session and with an API
// token; staff roles get both clients' events, client roles only their own client's.
class EventsRoleTenantTest : public StoreTest {};

TEST_P(EventsRoleTenantTest, EveryRoleOpensItAndSeesOnlyItsTenants) {
  ServedApp s(GetParam());
  ApiFixture& f = s.f();
  ClientId own = f.CreateClient("Own Client GmbH");
  ClientId other = f.CreateClient("Other Client Ltd");
  auto dev_own = f.EnrollDevice(own, "own-1");
  auto dev_other = f.EnrollDevice(other, "other-1");
  struct Opened {
    Role role;
    std::string how;
    std::unique_ptr<WsClient> ws;
  };
  std::vector<Opened> streams;
  for (Role role : domain::kAllRoles) {
    std::optional<ClientId> client;
    if (domain::IsClientRole(role)) {
      client = own;
    }
    std::string email;
    Auth token = f.UserWithToken(role, client, &email);
    streams.push_back({role, "session", s.Stream(f.Login(email))});
    streams.push_back({role, "token", s.Stream(token)});
  }
  ASSERT_EQ(streams.size(), 14u);
  ASSERT_TRUE(s.WaitConnected(14));

  Report(f, dev_other, 1, "critical");
  Report(f, dev_own, 1, "critical");
  // Presence, too, goes by tenant.
  WsClient agent(s.port());
  ASSERT_EQ(
      agent.Connect("/api/v1/agent/ws", {{"authorization", "Bearer " + dev_other.credential}}),
      101);
  WsClient agent_own(s.port());
  ASSERT_EQ(
      agent_own.Connect("/api/v1/agent/ws", {{"authorization", "Bearer " + dev_own.credential}}),
      101);

  for (auto& st : streams) {
    std::string what = fmt::format("{} ({})", domain::RoleName(st.role), st.how);
    if (domain::IsStaffRole(st.role)) {
      EXPECT_TRUE(IsCheckEventOf(st.ws->ReadJson(), dev_other)) << what;
    }
    json own_event = st.ws->ReadJson();
    EXPECT_TRUE(IsCheckEventOf(own_event, dev_own)) << what << ": " << own_event.dump();
    // The two presence events come from different threads: their order is not fixed.
    size_t presence = domain::IsStaffRole(st.role) ? 2 : 1;
    std::set<int64_t> devices;
    for (size_t i = 0; i < presence; ++i) {
      json p = st.ws->ReadJson();
      EXPECT_EQ(p.value("type", ""), "presence") << what << ": " << p.dump();
      EXPECT_EQ(p.value("presence", ""), "online") << what;
      devices.insert(p.value("device_id", int64_t{0}));
    }
    if (domain::IsStaffRole(st.role)) {
      EXPECT_EQ(devices, (std::set<int64_t>{Raw(dev_own.id), Raw(dev_other.id)})) << what;
    } else {
      EXPECT_EQ(devices, std::set<int64_t>{Raw(dev_own.id)}) << what;
    }
    st.ws->ExpectPongNext(what);
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, EventsRoleTenantTest, ::testing::ValuesIn(StoreKinds()),
                         [](const auto& p) { return p.param; });

TEST(EventsTest, WithoutCredentialsIs401ProblemAndCounted) {
  ServedApp s;
  WsClient c(s.port());
  EXPECT_EQ(c.Connect("/api/v1/events"), 401);
  EXPECT_EQ(c.last_error(), websocket::error::upgrade_declined);
  EXPECT_EQ(c.Header("content-type"), "application/problem+json");
  EXPECT_EQ(c.Header("www-authenticate"), "Bearer realm=\"vigil\"");
  EXPECT_FALSE(c.Header("x-request-id").empty());
  EXPECT_EQ(json::parse(c.body(), nullptr, false).value("status", 0), 401) << c.body();
  WsClient stale(s.port());
  EXPECT_EQ(stale.Connect("/api/v1/events", {{"cookie", "vigil_session=no-such-session"}}), 401);
  WsClient bad_token(s.port());
  EXPECT_EQ(bad_token.Connect("/api/v1/events", {{"authorization", "Bearer vgl_nope"}}), 401);
  // A device credential is not a person's.
  auto dev = s.f().EnrollDevice(s.f().CreateClient("C"));
  WsClient device(s.port());
  EXPECT_EQ(device.Connect("/api/v1/events", {{"authorization", "Bearer " + dev.credential}}), 401);
  // A plain GET is not an upgrade.
  EXPECT_EQ(s.f().Call("GET", "/api/v1/events", s.f().owner()).status, 400);

  auto metrics = s.f().Call("GET", "/metrics", Auth::None()).raw;
  EXPECT_NE(metrics.find(R"(route="/api/v1/events",status="401"} 4)"), std::string::npos)
      << metrics;
  s.Stream(s.f().owner());
  metrics = s.f().Call("GET", "/metrics", Auth::None()).raw;
  EXPECT_NE(metrics.find("vigil_events_websocket_connects_total 1"), std::string::npos) << metrics;
}

TEST(EventsTest, AnotherSitesOriginIs403) {
  ServedApp s;
  const Auth& owner = s.f().owner();
  std::string cookie = "vigil_session=" + owner.cookie;
  for (const std::string& origin :
       std::vector<std::string>{"https://evil.example", "null", "http://127.0.0.1.evil.example",
                                fmt::format("http://127.0.0.1:{}", s.port() + 1)}) {
    WsClient c(s.port());
    EXPECT_EQ(c.Connect("/api/v1/events", {{"cookie", cookie}, {"origin", origin}}), 403) << origin;
    EXPECT_EQ(c.Header("content-type"), "application/problem+json");
  }
  // The console's own page (Origin = Host), and scripts (no Origin), are welcome.
  s.Stream(owner, {{"origin", fmt::format("http://127.0.0.1:{}", s.port())}});
  s.Stream(owner);
}

// Origin against Host without sockets, through App::Upgrade.
TEST(EventsTest, OriginMustNameTheHostOfTheRequest) {
  ApiFixture f("sqlite");
  struct Case {
    std::optional<std::string> host;
    std::optional<std::string> origin;
    bool accepted;
  };
  const std::vector<Case> cases = {
      {"console.example", std::nullopt, true},
      {"console.example", "https://console.example", true},
      {"console.example", "https://console.example:443", true},
      {"console.example:443", "https://console.example", true},
      {"Console.Example", "https://CONSOLE.example", true},
      {"console.example:8443", "https://console.example:8443", true},
      {"console.example:8080", "http://console.example:8080", true},
      {"[::1]:8080", "http://[::1]:8080", true},
      {"console.example:8443", "https://console.example", false},
      {"console.example", "https://console.example:8443", false},
      {"console.example", "http://console.example:443", false},
      {"console.example", "https://evil.example", false},
      {"console.example", "https://console.example.evil.example", false},
      {"console.example", "https://evil.example/console.example", false},
      {"console.example", "https://user@console.example", false},
      {"console.example", "ftp://console.example", false},
      {"console.example", "null", false},
      {"console.example", "", false},
      {std::nullopt, "https://console.example", false},
  };
  for (const auto& c : cases) {
    net::HttpRequest req;
    req.method = "GET";
    req.target = req.path = "/api/v1/events";
    req.remote_address = "127.0.0.1";
    req.headers.emplace_back("cookie", "vigil_session=" + f.owner().cookie);
    if (c.host) {
      req.headers.emplace_back("host", *c.host);
    }
    if (c.origin) {
      req.headers.emplace_back("origin", *c.origin);
    }
    auto r = f.app().Upgrade(req);
    std::string what = c.host.value_or("(no host)") + " / " + c.origin.value_or("(no origin)");
    if (c.accepted) {
      EXPECT_TRUE(std::holds_alternative<net::WebSocketCallbacks>(r)) << what;
    } else {
      ASSERT_TRUE(std::holds_alternative<net::HttpResponse>(r)) << what;
      EXPECT_EQ(std::get<net::HttpResponse>(r).status, 403) << what;
    }
  }
}

TEST(EventsTest, SignOutClosesTheSessionsStreamOnly) {
  ServedApp s;
  ApiFixture& f = s.f();
  Auth first = f.Login(ApiFixture::kOwnerEmail);
  Auth second = f.Login(ApiFixture::kOwnerEmail);
  auto a = s.Stream(first);
  auto b = s.Stream(second);
  ASSERT_TRUE(s.WaitConnected(2));
  ASSERT_EQ(f.Call("POST", "/api/v1/auth/logout", first).status, 204);
  EXPECT_TRUE(a->ExpectClosed());
  EXPECT_EQ(a->last_error(), websocket::error::closed);
  EXPECT_EQ(a->close_code(), 1000);
  b->ExpectPongNext("the other session");
  EXPECT_TRUE(s.WaitConnected(1));
  // The signed-out cookie opens nothing any more.
  WsClient again(s.port());
  EXPECT_EQ(again.Connect("/api/v1/events", {{"cookie", "vigil_session=" + first.cookie}}), 401);
}

TEST(EventsTest, PresenceWhenAnAgentConnectsAndDisconnects) {
  ServedApp s;
  ApiFixture& f = s.f();
  ClientId c = f.CreateClient("Presence AG");
  auto dev = f.EnrollDevice(c, "p-1");
  auto staff = s.Stream(f.owner());
  ASSERT_TRUE(s.WaitConnected(1));
  auto agent = std::make_unique<WsClient>(s.port());
  ASSERT_EQ(agent->Connect("/api/v1/agent/ws", {{"authorization", "Bearer " + dev.credential}}),
            101);
  EXPECT_EQ(staff->ReadJson(), json({{"type", "presence"},
                                     {"device_id", Raw(dev.id)},
                                     {"client_id", Raw(c)},
                                     {"presence", "online"}}));
  agent.reset();  // the socket goes away without a closing handshake
  EXPECT_EQ(staff->ReadJson(), json({{"type", "presence"},
                                     {"device_id", Raw(dev.id)},
                                     {"client_id", Raw(c)},
                                     {"presence", "offline"}}));
  // Revoking the device closes its socket: offline again after a reconnect.
  WsClient again(s.port());
  ASSERT_EQ(again.Connect("/api/v1/agent/ws", {{"authorization", "Bearer " + dev.credential}}),
            101);
  EXPECT_EQ(staff->ReadJson().value("presence", ""), "online");
  ASSERT_EQ(f.Call("DELETE", fmt::format("/api/v1/devices/{}", Raw(dev.id)), f.owner()).status,
            204);
  EXPECT_TRUE(again.ExpectClosed());  // the agent answers the closing handshake
  EXPECT_EQ(again.close_code(), 1000);
  EXPECT_EQ(staff->ReadJson().value("presence", ""), "offline");
  staff->ExpectPongNext("after presence");
}

// The browser's messages are not parsed: whatever arrives only re-checks the credential.
TEST(EventsTest, AnyMessageOnlyRechecksTheCredential) {
  ServedApp s;
  ApiFixture& f = s.f();
  ClientId a = f.CreateClient("A");
  ClientId b = f.CreateClient("B");
  auto dev_b = f.EnrollDevice(b);
  auto dev_a = f.EnrollDevice(a);
  std::string email;
  f.UserWithToken(Role::kClientUser, a, &email);
  auto ws = s.Stream(f.Login(email));
  const std::vector<std::pair<std::string, bool>> hostile = {
      {"", false},
      {"{", false},
      {R"({"type":"subscribe","client_id":)" + std::to_string(Raw(b)) + "}", false},
      {R"({"type":"hello","scope":null})", false},
      {std::string("\0\xff\xfe binary", 10), true},
      {std::string(60 << 10, '['), false},
  };
  for (const auto& [m, binary] : hostile) {
    ASSERT_TRUE(ws->Write(m, binary)) << m.substr(0, 40);
    EXPECT_EQ(ws->ReadJson(), json({{"type", "pong"}})) << m.substr(0, 40);
  }
  // Nothing widened the scope.
  Report(f, dev_b, 1, "critical");
  Report(f, dev_a, 1, "critical");
  EXPECT_TRUE(IsCheckEventOf(ws->ReadJson(), dev_a));
  ws->ExpectPongNext("after hostile messages");
}

TEST(EventsTest, OversizedMessageIsClosedByTheServersLimit) {
  ServedApp s;
  auto ws = s.Stream(s.f().owner());
  ASSERT_TRUE(s.WaitConnected(1));
  ws->Write(std::string((64 << 10) + 1, 'x'));
  EXPECT_TRUE(ws->ExpectClosed());
  EXPECT_EQ(ws->close_code(), 1009);  // message too big
  EXPECT_TRUE(s.WaitConnected(0));
}

// Pings re-check the session without sliding its idle expiry: an open tab that only pings is
// signed out when the session's idle time runs out.
TEST(EventsTest, ExpiredSessionEndsTheStreamAndPingsDoNotExtendIt) {
  ServedApp s;
  ApiFixture& f = s.f();
  auto ws = s.Stream(f.Login(ApiFixture::kOwnerEmail));
  f.clock().Advance(std::chrono::hours(7));
  ws->ExpectPongNext("7 h after sign-in");
  f.clock().Advance(std::chrono::hours(1) + std::chrono::minutes(1));
  ASSERT_TRUE(ws->Write("ping"));
  EXPECT_TRUE(ws->ExpectClosed());
  EXPECT_EQ(ws->close_code(), 1000);
  EXPECT_TRUE(s.WaitConnected(0));
  auto metrics = f.Call("GET", "/metrics", Auth::None()).raw;
  EXPECT_NE(metrics.find("vigil_events_websocket_revoked_total 1"), std::string::npos) << metrics;
}

TEST(EventsTest, DisabledUserRevokedTokenAndPasswordChangeEndStreams) {
  ServedApp s;
  ApiFixture& f = s.f();
  // A disabled user: every stream of theirs ends at once.
  std::string email;
  UserId id{};
  Auth token = f.UserWithToken(Role::kTechnician, std::nullopt, &email, &id);
  auto by_session = s.Stream(f.Login(email));
  auto by_token = s.Stream(token);
  ASSERT_EQ(
      f.Call("PATCH", fmt::format("/api/v1/users/{}", Raw(id)), f.owner(), json{{"disabled", true}})
          .status,
      200);
  EXPECT_TRUE(by_session->ExpectClosed());
  EXPECT_TRUE(by_token->ExpectClosed());

  // A revoked token: its stream ends; the user's others stay.
  std::string email2;
  UserId id2{};
  Auth token2 = f.UserWithToken(Role::kDispatcher, std::nullopt, &email2, &id2);
  Auth session2 = f.Login(email2);
  auto t2 = s.Stream(token2);
  auto s2 = s.Stream(session2);
  auto list = f.Call("GET", fmt::format("/api/v1/tokens?user_id={}", Raw(id2)), f.owner());
  ASSERT_EQ(list.body["items"].size(), 1u) << list.raw;
  int64_t token_id = list.body["items"][0]["id"];
  ASSERT_EQ(f.Call("DELETE", fmt::format("/api/v1/tokens/{}", token_id), f.owner()).status, 204);
  EXPECT_TRUE(t2->ExpectClosed());
  s2->ExpectPongNext("the session of the token's user");

  // A changed password ends the other sessions' streams, not this session's nor tokens'.
  Auth other_session = f.Login(email2);
  auto other = s.Stream(other_session);
  storage::AuditContext audit;
  audit.now = f.clock().Now();
  auto issued =
      f.app().auth().IssueToken(id2, "t3", domain::TokenScope::kRead, std::nullopt, audit);
  ASSERT_TRUE(issued.has_value());
  Auth token3 = Auth::Token(issued->secret);
  auto t3 = s.Stream(token3);
  ASSERT_EQ(f.Call("POST", "/api/v1/auth/password", session2,
                   json{{"current_password", ApiFixture::kPassword},
                        {"new_password", "another correct horse battery"}})
                .status,
            204);
  EXPECT_TRUE(other->ExpectClosed());
  s2->ExpectPongNext("the session that changed the password");
  t3->ExpectPongNext("a token of the user");

  // A changed role or client ends the streams too (their scope was fixed at the handshake).
  ASSERT_EQ(f.Call("PATCH", fmt::format("/api/v1/users/{}", Raw(id2)), f.owner(),
                   json{{"role", "client_user"}, {"client_id", Raw(f.CreateClient("Z"))}})
                .status,
            200);
  EXPECT_TRUE(s2->ExpectClosed());
  EXPECT_TRUE(t3->ExpectClosed());
  EXPECT_TRUE(s.WaitConnected(0));
}

TEST(EventsTest, OwnersTwoFactorPolicyAppliesToStaff) {
  ServedApp s;
  ApiFixture& f = s.f();
  ClientId c = f.CreateClient("C");
  std::string tech_email, cu_email;
  f.UserWithToken(Role::kTechnician, std::nullopt, &tech_email);
  f.UserWithToken(Role::kClientUser, c, &cu_email);
  Auth tech = f.Login(tech_email);
  auto before = s.Stream(tech);
  storage::AuditContext audit;
  audit.now = f.clock().Now();
  ASSERT_TRUE(f.app().accounts().SetSetting(server::kSettingRequireMfa, "true", audit).ok());

  WsClient refused(s.port());
  EXPECT_EQ(refused.Connect("/api/v1/events", {{"cookie", "vigil_session=" + tech.cookie}}), 403);
  EXPECT_NE(refused.body().find("two-factor"), std::string::npos) << refused.body();
  // The stream opened before the policy ends at its next message.
  ASSERT_TRUE(before->Write("ping"));
  EXPECT_TRUE(before->ExpectClosed());
  // Client roles are not subject to it.
  s.Stream(f.Login(cu_email))->ExpectPongNext("client user");
}

}  // namespace
}  // namespace vigil::testing
