#include "storage/database.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <system_error>

namespace vigil::storage {
namespace {

// Truncates toward zero; NaN becomes 0 and values outside int64 saturate.
int64_t DoubleToInt(double d) {
  if (std::isnan(d)) {
    return 0;
  }
  // 2^63 is exactly representable; anything >= it does not fit.
  constexpr double kTwo63 = 9223372036854775808.0;
  if (d >= kTwo63) {
    return std::numeric_limits<int64_t>::max();
  }
  if (d < -kTwo63) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(d);
}

// Shortest text that reads back as the same double.
std::string DoubleToText(double d) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  if (ec != std::errc()) {
    return "";
  }
  return std::string(buf, end);
}

}  // namespace

int64_t Row::Int(size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* n = std::get_if<int64_t>(&v)) {
    return *n;
  }
  if (const auto* d = std::get_if<double>(&v)) {
    return DoubleToInt(*d);
  }
  return 0;  // NULL, and text: no implicit parsing.
}

double Row::Double(size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* d = std::get_if<double>(&v)) {
    return *d;
  }
  if (const auto* n = std::get_if<int64_t>(&v)) {
    return static_cast<double>(*n);
  }
  return 0.0;
}

std::string Row::Text(size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* s = std::get_if<std::string>(&v)) {
    return *s;
  }
  if (const auto* n = std::get_if<int64_t>(&v)) {
    return std::to_string(*n);
  }
  if (const auto* d = std::get_if<double>(&v)) {
    return DoubleToText(*d);
  }
  return "";
}

std::optional<int64_t> Row::OptInt(size_t i) const {
  if (IsNull(i)) {
    return std::nullopt;
  }
  return Int(i);
}

std::optional<std::string> Row::OptText(size_t i) const {
  if (IsNull(i)) {
    return std::nullopt;
  }
  return Text(i);
}

Result<Row> Tx::QueryOne(std::string_view sql, std::initializer_list<Value> params,
                         std::string_view what) {
  VIGIL_ASSIGN_OR_RETURN(std::vector<Row> rows, Query(sql, params));
  if (rows.empty()) {
    return NotFound(std::string(what) + " not found");
  }
  return std::move(rows.front());
}

void ObserverSlot::Set(Database::Observer observer) {
  auto p = observer ? std::make_shared<const Database::Observer>(std::move(observer)) : nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  observer_ = std::move(p);
}

void ObserverSlot::Report(std::string_view kind, std::chrono::steady_clock::time_point start,
                          bool ok) const {
  std::shared_ptr<const Database::Observer> observer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    observer = observer_;
  }
  if (observer) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    (*observer)(kind, elapsed.count(), ok);
  }
}

}  // namespace vigil::storage
