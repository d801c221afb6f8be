#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "core/json_writer.h"

namespace vigil::log {
namespace {
std::atomic<Format> g_format{Format::kText};
}  // namespace

void Init(Format format, spdlog::level::level_enum level) {
  g_format = format;
  auto logger = spdlog::get("vigil");
  if (!logger) {
    logger = spdlog::stderr_logger_mt("vigil");
  }
  if (format == Format::kJson) {
    // The message itself is already a JSON object; the pattern adds nothing.
    logger->set_pattern("%v");
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

void Write(spdlog::level::level_enum level, std::string_view msg,
           std::initializer_list<Field> fields) {
  if (!spdlog::default_logger_raw()->should_log(level)) {
    return;
  }
  std::string line;
  if (g_format == Format::kJson) {
    auto now = std::chrono::system_clock::now();
    line = fmt::format(R"({{"ts":"{:%Y-%m-%dT%H:%M:%S}Z","level":"{}","msg":)",
                       std::chrono::floor<std::chrono::seconds>(now),
                       spdlog::level::to_string_view(level));
    json::AppendString(line, msg);
    for (const auto& [k, v] : fields) {
      line += ',';
      json::AppendString(line, k);
      line += ':';
      json::AppendString(line, v);
    }
    line += "}";
  } else {
    line = std::string(msg);
    for (const auto& [k, v] : fields) {
      line += fmt::format(" {}={}", k, v);
    }
  }
  spdlog::default_logger_raw()->log(level, "{}", line);
}

}  // namespace vigil::log
