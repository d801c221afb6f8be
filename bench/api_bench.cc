// Benchmarks of vigild's request pipeline (App::Handle, no sockets) on a SQLite store in a
// temporary folder: the cost of authentication + routing + JSON + SQL per request.
//
//   build/release/bench/api_bench                              # full run
//   build/release/bench/api_bench --benchmark_min_time=0.01    # smoke (CI)
//
// Figures and the machine they were measured on: bench/README.md.

#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "core/clock.h"
#include "testing/owner_app.h"

namespace {

struct World {
  vigil::SystemClock clock;
  vigil::testing::OwnerApp owner{"bench", clock};

  explicit World(int clients) {
    for (int i = 0; i < clients; ++i) {
      Call("POST", "/api/v1/clients", fmt::format(R"({{"name":"Client {:06d}"}})", i));
    }
  }

  int Call(const std::string& method, const std::string& target, const std::string& body = "") {
    return owner.Handle(owner.Request(method, target, body)).status;
  }
};

World& Shared() {
  static World* w = new World(2000);
  return *w;
}

void BM_Healthz(benchmark::State& state) {
  World& w = Shared();
  for (auto _ : state) {
    if (w.Call("GET", "/healthz") != 200) {
      state.SkipWithError("healthz failed");
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Healthz)->Threads(1)->Threads(2)->UseRealTime();

void BM_GetClient(benchmark::State& state) {
  World& w = Shared();
  int i = 0;
  for (auto _ : state) {
    if (w.Call("GET", fmt::format("/api/v1/clients/{}", 1 + (i++ % 2000))) != 200) {
      state.SkipWithError("get failed");
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetClient)->Threads(1)->Threads(2)->UseRealTime();

// A page of 50 out of 2,000 clients, sorted and searched.
void BM_ListClients(benchmark::State& state) {
  World& w = Shared();
  for (auto _ : state) {
    if (w.Call("GET", "/api/v1/clients?limit=50&offset=1000&sort=-name&q=client") != 200) {
      state.SkipWithError("list failed");
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ListClients)->Threads(1)->Threads(2)->UseRealTime();

// Durable creates (each with its audit entry) from 1..8 threads: group commit at work.
void BM_CreateClient(benchmark::State& state) {
  World& w = Shared();
  static std::atomic<int64_t> seq{0};
  for (auto _ : state) {
    if (w.Call("POST", "/api/v1/clients",
               fmt::format(R"({{"name":"Bench {}"}})", seq.fetch_add(1))) != 201) {
      state.SkipWithError("create failed");
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CreateClient)->Threads(1)->Threads(8)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
