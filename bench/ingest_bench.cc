// P1: ingest of agent results over HTTP from a simulated fleet, durable before each reply.
//
// A real vigild App on SQLite in a temporary folder behind the real HTTP server on loopback;
// simulated agents (one HTTP keep-alive connection per client thread, devices enrolled through
// the API) POST batches to /api/v1/agent/batches. A batch is acknowledged only after its
// transaction is committed and synced, so results/s here are durable results/s.
//
//   build/release/bench/ingest_bench                              # full run
//   build/release/bench/ingest_bench --benchmark_min_time=0.01    # smoke (CI)
//
// Arguments: observations per batch, and client threads. Each observation carries two metrics,
// like a typical disk or memory result. Figures: bench/README.md.

#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <atomic>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "net/http.h"
#include "net/http_client.h"
#include "proto/batch.h"
#include "testing/owner_app.h"

namespace {

using nlohmann::json;

struct Device {
  std::string credential;
  std::atomic<uint64_t> sequence{0};
};

struct Fleet {
  vigil::SystemClock clock;
  vigil::testing::OwnerApp owner{"ingest-bench", clock};
  std::unique_ptr<vigil::net::HttpServer> server;
  std::thread server_thread;
  std::string url;
  // Per batch size, its own devices: each reports the same (check, target)s in every batch, as
  // an agent does.
  std::map<int, std::vector<std::unique_ptr<Device>>> devices;

  Fleet(int device_count, std::initializer_list<int> batch_sizes) {
    vigil::net::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.worker_threads = 8;
    o.max_body_bytes = 5 << 20;
    vigil::server::App* app = &owner.app();
    server = std::move(*vigil::net::HttpServer::Create(
        o, [app](const vigil::net::HttpRequest& r) { return app->Handle(r); }));
    url = fmt::format("http://127.0.0.1:{}", server->port());
    server_thread = std::thread([this] { server->Run(); });

    auto client = owner.Handle(owner.Request("POST", "/api/v1/clients", R"({"name":"Fleet"})"));
    int64_t client_id = json::parse(client.body)["id"];
    auto token = owner.Handle(
        owner.Request("POST", fmt::format("/api/v1/clients/{}/enrollment-tokens", client_id),
                      R"({"max_uses":100000})"));
    std::string secret = json::parse(token.body)["token"];
    for (int size : batch_sizes) {
      // Steady state: each device has reported its (check, target)s once, as an agent does in
      // its first minute, so the runs measure results of known series, not their creation.
      auto [head, tail] = Template(size, clock.Now());
      for (int i = 0; i < device_count; ++i) {
        vigil::net::HttpRequest req;
        req.method = "POST";
        req.target = req.path = "/api/v1/agent/enroll";
        req.headers = {{"content-type", "application/json"}};
        req.body =
            json{{"token", secret}, {"hostname", fmt::format("host-{}-{:05d}", size, i)}}.dump();
        auto r = owner.Handle(req);
        auto d = std::make_unique<Device>();
        d->credential = json::parse(r.body)["credential"];
        req.target = req.path = "/api/v1/agent/batches";
        req.headers.push_back({"authorization", "Bearer " + d->credential});
        req.body = head;
        req.body.append(std::to_string(++d->sequence)).append(tail);
        if (auto b = owner.Handle(req); b.status != 200) {
          throw std::runtime_error("warm-up batch refused: " + b.body);
        }
        devices[size].push_back(std::move(d));
      }
    }
  }
  ~Fleet() {
    server->Shutdown();
    server_thread.join();
  }

  // A batch of `n` observations, pre-encoded with a placeholder for the sequence.
  static std::pair<std::string, std::string> Template(int n, vigil::TimePoint now) {
    vigil::proto::Batch b;
    b.agent_version = "bench";
    b.sequence = 999'999'999'999;
    b.sent_at = now;
    for (int i = 0; i < n; ++i) {
      vigil::proto::Observation o;
      o.observed_at = now;
      o.result.check = "disk";
      o.result.target = fmt::format("/mnt/volume{}", i);
      o.result.status = vigil::proto::CheckStatus::kOk;
      o.result.message = "41% used";
      o.result.metrics = {{"disk.used_percent", 41.0 + i % 7, "%", 85.0, 95.0, 0.0, 100.0},
                          {"disk.inodes_used_percent", 3.0, "%", 85.0, 95.0, 0.0, 100.0}};
      b.observations.push_back(o);
    }
    std::string text = vigil::proto::EncodeBatch(b);
    size_t at = text.find("999999999999");
    return {text.substr(0, at), text.substr(at + 12)};
  }
};

double CpuSeconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

Fleet& Shared() {
  spdlog::set_level(spdlog::level::warn);  // one log line per status change would dominate
  static Fleet* f = new Fleet(200, {100, 1000});
  return *f;
}

void BM_IngestHttp(benchmark::State& state) {
  Fleet& f = Shared();
  const int per_batch = static_cast<int>(state.range(0));
  auto [head, tail] = Fleet::Template(per_batch, f.clock.Now());
  vigil::net::HttpClient client;
  auto& devices = f.devices.at(per_batch);
  // Each thread reports as its own set of devices.
  size_t device = static_cast<size_t>(state.thread_index()) % devices.size();
  int64_t results = 0;
  const double cpu_before = CpuSeconds(RUSAGE_SELF);
  const double client_cpu_before = CpuSeconds(RUSAGE_THREAD);
  for (auto _ : state) {
    Device& d = *devices[device];
    device = (device + static_cast<size_t>(state.threads())) % devices.size();
    std::string body = head;
    body.append(std::to_string(++d.sequence)).append(tail);
    auto r = client.Send(
        "POST", f.url + "/api/v1/agent/batches",
        {{"content-type", "application/json"}, {"authorization", "Bearer " + d.credential}}, body);
    if (!r || r->status != 200) {
      state.SkipWithError(r ? r->body.c_str() : r.error().ToString().c_str());
      break;
    }
    results += per_batch;
  }
  const double client_cpu = CpuSeconds(RUSAGE_THREAD) - client_cpu_before;
  state.SetItemsProcessed(results);
  if (results > 0) {
    // CPU per result (DESIGN.md P1: <= 5 us of the server's): counters are summed over the
    // threads, so thread 0 adds the whole process's CPU (server and simulated agents) and every
    // thread subtracts its own, the agents' share (encoding, HTTP client), from server_cpu.
    const double total = static_cast<double>(results * state.threads());
    const double process = state.thread_index() == 0 ? CpuSeconds(RUSAGE_SELF) - cpu_before : 0;
    state.counters["cpu_us/result"] = process * 1e6 / total;
    state.counters["server_cpu_us/result"] = (process - client_cpu) * 1e6 / total;
  }
  state.counters["results/s"] =
      benchmark::Counter(static_cast<double>(results), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_IngestHttp)
    ->ArgNames({"batch"})
    ->Arg(100)
    ->Arg(1000)
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->UseRealTime();

// Reading one check's raw history for a day (DESIGN.md P5's concern): history keeps a row per
// batch, so the device's batches of the day are read and the other checks' entries skipped. A
// device that reported 20 results every minute for 24 hours: 1,440 rows, 28,800 results.
void BM_HistoryDay(benchmark::State& state) {
  static Fleet* f = new Fleet(0, {});
  static int64_t device_id = 0;
  static vigil::TimePoint end;
  if (device_id == 0) {
    auto client =
        f->owner.Handle(f->owner.Request("POST", "/api/v1/clients", R"({"name":"History"})"));
    int64_t client_id = json::parse(client.body)["id"];
    auto t = f->owner.Handle(f->owner.Request(
        "POST", fmt::format("/api/v1/clients/{}/enrollment-tokens", client_id), "{}"));
    vigil::net::HttpRequest req;
    req.method = "POST";
    req.target = req.path = "/api/v1/agent/enroll";
    req.headers = {{"content-type", "application/json"}};
    req.body = json{{"token", json::parse(t.body)["token"]}, {"hostname", "history"}}.dump();
    auto enrolled = json::parse(f->owner.Handle(req).body);
    device_id = enrolled["device_id"];
    req.target = req.path = "/api/v1/agent/batches";
    req.headers.push_back({"authorization", "Bearer " + enrolled["credential"].get<std::string>()});
    end = f->clock.Now();
    for (int minute = 0; minute < 24 * 60; ++minute) {
      vigil::TimePoint at = end - std::chrono::minutes(24 * 60 - minute);
      vigil::proto::Batch b;
      b.agent_version = "bench";
      b.sequence = static_cast<uint64_t>(minute) + 1;
      b.sent_at = at;
      for (int i = 0; i < 20; ++i) {
        vigil::proto::Observation o;
        o.observed_at = at;
        o.result.check = "disk";
        o.result.target = fmt::format("/mnt/volume{}", i);
        o.result.message = "41% used";
        o.result.metrics = {{"disk.used_percent", 41.0 + minute % 7, "%", 85.0, 95.0, 0.0, 100.0},
                            {"disk.inodes_used_percent", 3.0, "%", 85.0, 95.0, 0.0, 100.0}};
        b.observations.push_back(o);
      }
      req.body = vigil::proto::EncodeBatch(b);
      if (auto r = f->owner.Handle(req); r.status != 200) {
        state.SkipWithError(r.body.c_str());
        return;
      }
    }
  }
  auto query = f->owner.Request(
      "GET",
      fmt::format("/api/v1/devices/{}/checks/disk/history?target=%2Fmnt%2Fvolume3&from={}"
                  "&to={}&resolution=raw",
                  device_id,
                  vigil::FormatRfc3339(end - std::chrono::hours(24) - std::chrono::minutes(1)),
                  vigil::FormatRfc3339(end)));
  std::string body;
  for (auto _ : state) {
    auto r = f->owner.Handle(query);
    if (r.status != 200) {
      state.SkipWithError(r.body.c_str());
      break;
    }
    body = std::move(r.body);
  }
  state.counters["points"] = static_cast<double>(json::parse(body)["points"].size());
}
BENCHMARK(BM_HistoryDay)->Unit(benchmark::kMillisecond);

// The strict decode of one batch body alone (its share of the server's CPU per result).
void BM_DecodeBatch(benchmark::State& state) {
  const vigil::TimePoint now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  auto [head, tail] = Fleet::Template(static_cast<int>(state.range(0)), now);
  const std::string body = head + "1" + tail;
  for (auto _ : state) {
    auto batch = vigil::proto::DecodeBatch(body, now);
    if (!batch) {
      state.SkipWithError(batch.error().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(batch);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));  // results/s of one core
}
BENCHMARK(BM_DecodeBatch)->ArgNames({"batch"})->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
