#pragma once

// Metrics: vigild's Prometheus text exposition (version 0.0.4) at /metrics.
//
// Counters and histograms keyed by a small, fixed label set. Route labels are route patterns
// ("/api/v1/clients/{id}"), never raw paths, so label cardinality stays bounded.
//
// Thread safety: every method may be called from any thread.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::server {

class Histogram {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  void Observe(double seconds);
  // Appends "name_bucket{labels,le=...} n" lines etc.
  void Render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets.size() + 1> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

class Metrics {
 public:
  void ObserveRequest(std::string_view method, std::string_view route, int status, double seconds);
  void ObserveDb(std::string_view kind, double seconds, bool ok);
  // Named counters for events ("login_failures_total").
  void Increment(std::string_view counter, std::string_view label_value = {}, uint64_t n = 1);

  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> requests_;                   // "method|route|status" -> count
  std::map<std::string, std::unique_ptr<Histogram>> latency_;  // "method|route"
  std::map<std::string, std::unique_ptr<Histogram>> db_;       // kind
  std::map<std::string, uint64_t> db_errors_;
  std::map<std::string, uint64_t> counters_;  // "name|label"
};

}  // namespace vigil::server
