#pragma once

// FakeVigild: a test double of vigild's agent API on a real net::HttpServer (127.0.0.1, port 0),
// for the transport tests. What it checks:
//   POST /api/v1/agent/enroll     JSON object with token, hostname, agent_version (strings);
//                                 token must be kGoodToken, else 401 problem+json; a body that
//                                 is not such an object: 400.
//   POST /api/v1/agent/batches    "Authorization: Bearer <kCredential>" (else 401); the body must
//                                 pass proto::DecodeBatch (else 400); stores each new sequence
//                                 once in arrival order, replays answer "duplicate":true.
//                                 batch_status() forces a reply status (503, 400, 401...).
//   GET /api/v1/agent/config      Bearer as above; {"revision": config_revision()}.
//   PUT /api/v1/agent/inventory   Bearer as above; records the body.
// Anything else: 404.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "net/http.h"
#include "proto/batch.h"

namespace vigil::agent::transport::testing {

inline constexpr char kGoodToken[] = "vge_good";
inline constexpr char kCredential[] = "vgd_secret";

class FakeVigild {
 public:
  // Listens on 127.0.0.1:`port` (0 = any free port); TLS when cert/key are given.
  static std::unique_ptr<FakeVigild> Start(uint16_t port = 0, std::string cert = "",
                                           std::string key = "") {
    auto fake = std::unique_ptr<FakeVigild>(new FakeVigild());
    net::ServerOptions options;
    options.listen = "127.0.0.1:" + std::to_string(port);
    options.io_threads = 1;
    options.worker_threads = 2;
    options.max_body_bytes = 8 << 20;
    options.shutdown_grace = std::chrono::milliseconds(500);
    options.tls_cert_file = std::move(cert);
    options.tls_key_file = std::move(key);
    FakeVigild* self = fake.get();
    auto server = net::HttpServer::Create(
        options, [self](const net::HttpRequest& req) { return self->Handle(req); });
    if (!server.has_value()) {
      ADD_FAILURE() << server.error().ToString();
      return nullptr;
    }
    fake->server_ = std::move(*server);
    fake->thread_ = std::thread([self] { self->server_->Run(); });
    return fake;
  }

  ~FakeVigild() { Stop(); }

  void Stop() {
    if (thread_.joinable()) {
      server_->Shutdown();
      thread_.join();
    }
  }

  uint16_t port() const { return server_->port(); }
  std::string Url(bool tls = false) const {
    return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
  }

  void set_batch_status(int status) { batch_status_ = status; }
  void set_config_revision(int64_t revision) { config_revision_ = revision; }

  std::vector<proto::Batch> batches() const {
    std::lock_guard lock(mu_);
    return batches_;
  }
  std::vector<uint64_t> sequences() const {
    std::lock_guard lock(mu_);
    std::vector<uint64_t> out;
    for (const auto& b : batches_) {
      out.push_back(b.sequence);
    }
    return out;
  }
  std::vector<std::string> inventories() const {
    std::lock_guard lock(mu_);
    return inventories_;
  }
  std::vector<json::Json> enrollments() const {
    std::lock_guard lock(mu_);
    return enrollments_;
  }
  int batch_requests() const { return batch_requests_; }

 private:
  FakeVigild() = default;

  static net::HttpResponse Json(int status, const json::Json& body) {
    net::HttpResponse res;
    res.status = status;
    res.SetHeader("content-type", status >= 400 ? "application/problem+json" : "application/json");
    res.body = body.dump();
    return res;
  }
  static net::HttpResponse Problem(int status, const std::string& detail) {
    return Json(status, {{"type", "about:blank"}, {"title", "refused"}, {"detail", detail}});
  }

  bool Authorized(const net::HttpRequest& req) const {
    auto auth = req.Header("authorization");
    return auth && *auth == std::string("Bearer ") + kCredential;
  }

  net::HttpResponse Handle(const net::HttpRequest& req) {
    if (req.method == "POST" && req.path == "/api/v1/agent/enroll") {
      auto j = json::ParseObject(req.body);
      if (!j.has_value() || !(*j)["token"].is_string() || !(*j)["hostname"].is_string() ||
          !(*j)["agent_version"].is_string()) {
        return Problem(400, "malformed enrollment");
      }
      if ((*j)["token"] != kGoodToken) {
        return Problem(401, "unknown, expired or used-up enrollment token");
      }
      std::lock_guard lock(mu_);
      enrollments_.push_back(*j);
      return Json(201, {{"device_id", 17},
                        {"credential", kCredential},
                        {"config", {{"revision", config_revision_.load()}}}});
    }
    if (!Authorized(req)) {
      return Problem(401, "device revoked or credential invalid");
    }
    if (req.method == "POST" && req.path == "/api/v1/agent/batches") {
      ++batch_requests_;
      if (int forced = batch_status_.load(); forced != 200) {
        return Problem(forced, "forced by the test");
      }
      auto batch =
          proto::DecodeBatch(req.body, std::chrono::time_point_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now()));
      if (!batch.has_value()) {
        return Problem(400, batch.error().ToString());
      }
      std::lock_guard lock(mu_);
      bool duplicate = false;
      for (const auto& b : batches_) {
        duplicate = duplicate || b.sequence == batch->sequence;
      }
      if (!duplicate) {
        batches_.push_back(*batch);
      }
      return Json(200, {{"sequence", batch->sequence},
                        {"duplicate", duplicate},
                        {"config_revision", config_revision_.load()}});
    }
    if (req.method == "GET" && req.path == "/api/v1/agent/config") {
      return Json(200, {{"revision", config_revision_.load()}});
    }
    if (req.method == "PUT" && req.path == "/api/v1/agent/inventory") {
      std::lock_guard lock(mu_);
      inventories_.push_back(req.body);
      return Json(200, {{"changed", true}});
    }
    return Problem(404, "no such route");
  }

  std::unique_ptr<net::HttpServer> server_;
  std::thread thread_;
  std::atomic<int> batch_status_{200};
  std::atomic<int64_t> config_revision_{1};
  std::atomic<int> batch_requests_{0};
  mutable std::mutex mu_;
  std::vector<proto::Batch> batches_;
  std::vector<std::string> inventories_;
  std::vector<json::Json> enrollments_;
};

}  // namespace vigil::agent::transport::testing
