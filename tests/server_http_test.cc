// vigild's App behind the real HTTP server over TCP on loopback: cookies, headers, limits and
// keep-alive as a browser or the CLI sees them.

#include <gtest/gtest.h>

#include <thread>

#include "api_fixture.h"
#include "net/http_client.h"

namespace vigil::testing {
namespace {

using nlohmann::json;

class ServedApp {
 public:
  ServedApp() : f_("sqlite") {
    net::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.io_threads = 1;
    o.worker_threads = 2;
    o.max_body_bytes = 64 << 10;
    server::App* app = &f_.app();
    auto s = net::HttpServer::Create(
        o, [app](const net::HttpRequest& r) { return app->Handle(r); },
        [app](const net::HttpRequest* r, net::HttpResponse& resp) { app->Decorate(r, resp); });
    EXPECT_TRUE(s.has_value()) << s.status().ToString();
    server_ = std::move(*s);
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~ServedApp() {
    server_->Shutdown();
    thread_.join();
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  ApiFixture& f() { return f_; }

 private:
  ApiFixture f_;
  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
};

TEST(ServerHttpTest, SignInOverRealHttpAndUseTheSession) {
  ServedApp s;
  net::HttpClient c;
  auto login =
      c.Send("POST", s.Url("/api/v1/auth/login"), {{"content-type", "application/json"}},
             json{{"email", ApiFixture::kOwnerEmail}, {"password", ApiFixture::kPassword}}.dump());
  ASSERT_TRUE(login.has_value()) << login.status().ToString();
  ASSERT_EQ(login->status, 200) << login->body;
  std::string cookie(login->Header("set-cookie").value_or(""));
  std::string session = cookie.substr(0, cookie.find(';'));
  std::string csrf = json::parse(login->body)["csrf_token"];
  auto created =
      c.Send("POST", s.Url("/api/v1/clients"),
             {{"content-type", "application/json"}, {"cookie", session}, {"x-csrf-token", csrf}},
             R"({"name":"Over TCP"})");
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(created->Header("x-content-type-options").value_or(""), "nosniff");
  auto health = c.Send("GET", s.Url("/healthz"), {});
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
}

TEST(ServerHttpTest, OversizedBodyIsRefusedByTheServerWithAProblem) {
  ServedApp s;
  net::HttpClient c;
  auto r = c.Send("POST", s.Url("/api/v1/clients"), {{"content-type", "application/json"}},
                  std::string(100 << 10, 'x'));
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->Header("content-type").value_or(""), "application/problem+json");
  EXPECT_EQ(r->Header("x-content-type-options").value_or(""), "nosniff");
  EXPECT_EQ(s.f().Count("clients"), 0);
}

}  // namespace
}  // namespace vigil::testing
