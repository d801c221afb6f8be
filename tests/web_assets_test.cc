// The web console's files served by vigild (server/web_assets.h), on a folder laid out like
// Vite's build output, and through App::Handle.

#include "server/web_assets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/clock.h"
#include "server/app.h"

namespace vigil::server {
namespace {

namespace fs = std::filesystem;

class WebAssetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil-web-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(root() / "assets");
    Write("index.html", "<!doctype html><title>Vigil</title>");
    Write("assets/index-1a2b3c.js", "console.log('vigil')");
    Write("assets/index-1a2b3c.js.gz", "GZIPPED");
    Write("assets/index-4d5e6f.css", "body{}");
    Write("favicon.svg", "<svg/>");
    std::ofstream(dir_ / "secret.txt") << "outside the web folder";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path root() const { return dir_ / "dist"; }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(root() / name, std::ios::binary) << text;
  }
  static net::HttpRequest Get(std::string path, net::Headers headers = {}) {
    net::HttpRequest r;
    r.method = "GET";
    r.target = r.path = std::move(path);
    r.headers = std::move(headers);
    return r;
  }

  fs::path dir_;
};

TEST_F(WebAssetsTest, ServesFilesWithTypesAndCaching) {
  auto web = WebAssets::Load(root());
  ASSERT_TRUE(web.has_value()) << web.status().ToString();
  EXPECT_EQ(web->file_count(), 4u);  // the .gz is a variant, not a file of its own

  auto index = web->Serve(Get("/"));
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->body, "<!doctype html><title>Vigil</title>");
  EXPECT_EQ(index->Header("content-type").value_or(""), "text/html; charset=utf-8");
  EXPECT_EQ(index->Header("cache-control").value_or(""), "no-cache");
  ASSERT_TRUE(index->Header("etag").has_value());

  auto js = web->Serve(Get("/assets/index-1a2b3c.js"));
  ASSERT_TRUE(js.has_value());
  EXPECT_EQ(js->body, "console.log('vigil')");
  EXPECT_EQ(js->Header("content-type").value_or(""), "text/javascript; charset=utf-8");
  EXPECT_EQ(js->Header("cache-control").value_or(""), "public, max-age=31536000, immutable");
  EXPECT_EQ(js->Header("vary").value_or(""), "accept-encoding");
  EXPECT_EQ(web->Serve(Get("/assets/index-4d5e6f.css"))->Header("content-type").value_or(""),
            "text/css; charset=utf-8");
  EXPECT_EQ(web->Serve(Get("/favicon.svg"))->Header("content-type").value_or(""), "image/svg+xml");

  // A revalidation with the entity tag: 304 without a body.
  auto again = web->Serve(Get("/", {{"if-none-match", std::string(*index->Header("etag"))}}));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());

  // HEAD: the same response (the HTTP server sends the body's length, not the body).
  net::HttpRequest head = Get("/assets/index-1a2b3c.js");
  head.method = "HEAD";
  auto h = web->Serve(head);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->body, js->body);
  EXPECT_EQ(h->Header("content-type").value_or(""), "text/javascript; charset=utf-8");
}

TEST_F(WebAssetsTest, GzipCopiesGoToClientsThatAcceptThem) {
  auto web = WebAssets::Load(root());
  ASSERT_TRUE(web.has_value());
  auto gz = web->Serve(Get("/assets/index-1a2b3c.js", {{"accept-encoding", "br, gzip"}}));
  ASSERT_TRUE(gz.has_value());
  EXPECT_EQ(gz->body, "GZIPPED");
  EXPECT_EQ(gz->Header("content-encoding").value_or(""), "gzip");
  auto plain = web->Serve(Get("/assets/index-1a2b3c.js"));
  EXPECT_NE(gz->Header("etag"), plain->Header("etag"));  // two representations, two tags
  for (std::string refused : {"gzip;q=0", "br", "identity", "gzip ; q=0.000"}) {
    auto r = web->Serve(Get("/assets/index-1a2b3c.js", {{"accept-encoding", refused}}));
    EXPECT_EQ(r->body, "console.log('vigil')") << refused;
    EXPECT_FALSE(r->Header("content-encoding").has_value()) << refused;
  }
  EXPECT_EQ(web->Serve(Get("/assets/index-1a2b3c.js", {{"accept-encoding", "gzip;q=0.5"}}))->body,
            "GZIPPED");
  // Hostile or malformed values (none accepts gzip): the plain file, never a crash.
  for (std::string odd :
       {std::string(), std::string(10000, ','), std::string("gzip;q="), std::string("gzip;q=abc"),
        std::string("x-gzip"), std::string(";;;"), std::string("gzip\0;q=1", 9)}) {
    auto r = web->Serve(Get("/assets/index-1a2b3c.js", {{"accept-encoding", odd}}));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body, "console.log('vigil')") << odd;
  }
  // The compressed file is not addressable by itself.
  EXPECT_FALSE(web->Serve(Get("/assets/index-1a2b3c.js.gz")).has_value());
}

TEST_F(WebAssetsTest, AppPathsLoadTheAppAndNothingElseIsReachable) {
  fs::create_symlink(dir_ / "secret.txt", root() / "linked.txt");
  auto web = WebAssets::Load(root());
  ASSERT_TRUE(web.has_value());
  // Paths of the single-page app load index.html; it routes them in the browser.
  for (std::string path : {"/devices/42", "/clients", "/portal/devices/7/", "/a/b/c"}) {
    auto r = web->Serve(Get(path));
    ASSERT_TRUE(r.has_value()) << path;
    EXPECT_EQ(r->body, "<!doctype html><title>Vigil</title>") << path;
  }
  // Missing files, escapes from the folder and symbolic links are not served.
  for (std::string path :
       {"/logo.png", "/assets/missing.js", "/../secret.txt", "/assets/../../secret.txt",
        "/linked.txt", "/%2e%2e/secret.txt", "/index.html/..", "//etc/passwd.txt"}) {
    auto r = web->Serve(Get(path));
    EXPECT_TRUE(!r.has_value() || r->body.find("outside") == std::string::npos) << path;
    if (path.find('.') != std::string::npos && path.rfind('/') < path.rfind('.')) {
      EXPECT_FALSE(r.has_value()) << path;
    }
  }
}

TEST_F(WebAssetsTest, RefusesFoldersItCannotServe) {
  EXPECT_EQ(WebAssets::Load(dir_ / "nowhere").status().code(), ErrorCode::kInvalidArgument);
  fs::remove(root() / "index.html");
  auto no_index = WebAssets::Load(root());
  EXPECT_EQ(no_index.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(no_index.status().message().find("index.html"), std::string::npos);
  Write("index.html", "<!doctype html>");
  // A sparse file larger than the budget: refused before anything is read.
  { std::ofstream(root() / "huge.bin"); }
  fs::resize_file(root() / "huge.bin", WebAssets::kMaxTotalBytes + 1);
  EXPECT_EQ(WebAssets::Load(root()).status().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(WebAssetsTest, VigildServesTheConsoleOutsideTheApi) {
  SystemClock clock;
  AppOptions options;
  options.data_dir = (dir_ / "data").string();
  options.web_root = root().string();
  auto app = App::Create(options, clock);
  ASSERT_TRUE(app.has_value()) << app.status().ToString();
  auto index = (*app)->Handle(Get("/devices/42"));
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<!doctype html><title>Vigil</title>");
  EXPECT_TRUE(index.Header("x-request-id").has_value());
  // The API keeps its own answers: an unknown API path is a JSON problem, not the app.
  auto api = (*app)->Handle(Get("/api/v1/nothing-here"));
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(api.Header("content-type").value_or(""), "application/problem+json");
  EXPECT_EQ((*app)->Handle(Get("/healthz")).status, 200);  // routes outside /api/ stay routes
  // Only GET and HEAD reach the files.
  net::HttpRequest post = Get("/");
  post.method = "POST";
  EXPECT_EQ((*app)->Handle(post).status, 404);
  EXPECT_EQ((*app)->Handle(Get("/missing.png")).status, 404);

  options.web_root = (dir_ / "nowhere").string();
  EXPECT_FALSE(App::Create(options, clock).has_value());
}

}  // namespace
}  // namespace vigil::server
