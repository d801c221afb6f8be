#include "server/metrics.h"

#include <fmt/format.h>

#include <memory>

namespace vigil::server {
namespace {

// Escapes a Prometheus label value.
std::string Esc(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
    }
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '|') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace

void Histogram::Observe(double seconds) {
  size_t i = 0;
  while (i < kBuckets.size() && seconds > kBuckets[i]) {
    ++i;
  }
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Histogram::Render(std::string& out, std::string_view name, std::string_view labels) const {
  uint64_t cumulative = 0;
  std::string sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    out +=
        fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, kBuckets[i], cumulative);
  }
  cumulative += counts_[kBuckets.size()].load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, cumulative);
  out += fmt::format("{}_sum{{{}}} {}\n", name, labels,
                     static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  out += fmt::format("{}_count{{{}}} {}\n", name, labels, count_.load(std::memory_order_relaxed));
}

void Metrics::ObserveRequest(std::string_view method, std::string_view route, int status,
                             double seconds) {
  std::string key = fmt::format("{}|{}", method, route);
  Histogram* h;
  {
    std::lock_guard lock(mu_);
    ++requests_[fmt::format("{}|{}", key, status)];
    auto& slot = latency_[key];
    if (!slot) {
      slot = std::make_unique<Histogram>();
    }
    h = slot.get();
  }
  h->Observe(seconds);
}

void Metrics::ObserveDb(std::string_view kind, double seconds, bool ok) {
  Histogram* h;
  {
    std::lock_guard lock(mu_);
    auto& slot = db_[std::string(kind)];
    if (!slot) {
      slot = std::make_unique<Histogram>();
    }
    h = slot.get();
    if (!ok) {
      ++db_errors_[std::string(kind)];
    }
  }
  h->Observe(seconds);
}

void Metrics::Increment(std::string_view counter, std::string_view label_value, uint64_t n) {
  std::lock_guard lock(mu_);
  counters_[fmt::format("{}|{}", counter, label_value)] += n;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP vigil_http_requests_total HTTP requests by method, route and status.\n";
  out += "# TYPE vigil_http_requests_total counter\n";
  for (const auto& [k, v] : requests_) {
    auto p = Split(k);
    out += fmt::format("vigil_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                       Esc(p[0]), Esc(p[1]), Esc(p[2]), v);
  }
  out += "# HELP vigil_http_request_duration_seconds Time to handle a request.\n";
  out += "# TYPE vigil_http_request_duration_seconds histogram\n";
  for (const auto& [k, h] : latency_) {
    auto p = Split(k);
    h->Render(out, "vigil_http_request_duration_seconds",
              fmt::format("method=\"{}\",route=\"{}\"", Esc(p[0]), Esc(p[1])));
  }
  out += "# HELP vigil_db_transaction_duration_seconds Database transaction time by kind.\n";
  out += "# TYPE vigil_db_transaction_duration_seconds histogram\n";
  for (const auto& [k, h] : db_) {
    h->Render(out, "vigil_db_transaction_duration_seconds", fmt::format("kind=\"{}\"", Esc(k)));
  }
  out += "# HELP vigil_db_transaction_errors_total Failed database transactions by kind.\n";
  out += "# TYPE vigil_db_transaction_errors_total counter\n";
  for (const auto& [k, v] : db_errors_) {
    out += fmt::format("vigil_db_transaction_errors_total{{kind=\"{}\"}} {}\n", Esc(k), v);
  }
  std::string last;
  for (const auto& [k, v] : counters_) {
    auto p = Split(k);
    std::string name = fmt::format("vigil_{}", p[0]);
    if (name != last) {
      out += fmt::format("# TYPE {} counter\n", name);
      last = name;
    }
    if (p[1].empty()) {
      out += fmt::format("{} {}\n", name, v);
    } else {
      out += fmt::format("{}{{reason=\"{}\"}} {}\n", name, Esc(p[1]), v);
    }
  }
  return out;
}

}  // namespace vigil::server
