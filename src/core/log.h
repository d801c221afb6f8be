#pragma once

// Structured logging on spdlog. One process-wide logger, configured once by main().
// Format: human text by default, JSON lines (one object per line) with --log-format=json.
// Key/value context is passed as a list of pairs so that JSON output keeps it structured:
//   VIGIL_LOG(info, "request done", {{"request_id", id}, {"status", "200"}});

#include <spdlog/spdlog.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace vigil::log {

enum class Format { kText, kJson };

// Configures the default logger to write to stderr. Idempotent.
void Init(Format format, spdlog::level::level_enum level);

using Field = std::pair<std::string_view, std::string_view>;

// Renders `msg` with `fields` in the configured format and logs it at `level`.
void Write(spdlog::level::level_enum level, std::string_view msg,
           std::initializer_list<Field> fields = {});

}  // namespace vigil::log

#define VIGIL_LOG(lvl, msg, ...) \
  ::vigil::log::Write(spdlog::level::lvl, msg __VA_OPT__(, ) __VA_ARGS__)
