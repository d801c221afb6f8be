#include "cli/commands.h"

#include <cstdint>
#include <cstdio>

#include <fmt/format.h>

namespace vigil::cli {

ExitCode ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk:
      return ExitCode::kOk;
    case ErrorCode::kInvalidArgument:
      return ExitCode::kUsage;
    case ErrorCode::kUnauthenticated:
      return ExitCode::kUnauthenticated;
    case ErrorCode::kPermissionDenied:
      return ExitCode::kPermissionDenied;
    case ErrorCode::kNotFound:
      return ExitCode::kNotFound;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
      return ExitCode::kConflict;
    case ErrorCode::kUnavailable:
    case ErrorCode::kInternal:
      return ExitCode::kUnavailable;
    default:
      return ExitCode::kRefused;
  }
}

// ---- Context

Result<std::string> Context::ConfigFilePath() {
  if (!config_path_) {
    VIGIL_ASSIGN_OR_RETURN(config_path_, ConfigPath(flags_.config));
  }
  return *config_path_;
}

Result<Json> Context::ConfigFile() {
  if (!config_file_) {
    VIGIL_ASSIGN_OR_RETURN(std::string path, ConfigFilePath());
    VIGIL_ASSIGN_OR_RETURN(config_file_, ReadConfigFile(path));
  }
  return *config_file_;
}

Result<Config> Context::ResolvedConfig() {
  VIGIL_ASSIGN_OR_RETURN(Json file, ConfigFile());
  return ResolveConfig(flags_.server, flags_.token, file);
}

Result<ApiClient*> Context::ApiWithoutCredentials(const std::string& server) {
  VIGIL_ASSIGN_OR_RETURN(std::string url, NormalizeServerUrl(server));
  net::ClientOptions options;
  options.timeout = std::chrono::seconds(flags_.timeout_seconds);
  options.ca_file = flags_.ca_file;
  options.verify_tls = !flags_.insecure;
  api_ = std::make_unique<ApiClient>(std::move(url), std::move(options));
  return api_.get();
}

Result<ApiClient*> Context::Api(bool need_token) {
  VIGIL_ASSIGN_OR_RETURN(Config config, ResolvedConfig());
  if (config.server.empty()) {
    return Unauthenticated(
        "no server configured: run `vigil login --server URL --email E`, or set VIGIL_SERVER");
  }
  if (need_token && config.token.empty()) {
    return Unauthenticated("no API token configured for " + config.server +
                           ": run `vigil login`, or set VIGIL_TOKEN");
  }
  VIGIL_ASSIGN_OR_RETURN(ApiClient * api, ApiWithoutCredentials(config.server));
  api->SetToken(config.token);
  return api;
}

void Context::Print(std::string_view text) const {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

void Context::PrintJson(const Json& j) const {
  Print(j.dump(2, ' ', false, Json::error_handler_t::replace));
  Print("\n");
}

void Context::Note(std::string_view text) const {
  std::FILE* to = flags_.json ? stderr : stdout;
  std::fwrite(text.data(), 1, text.size(), to);
  std::fputc('\n', to);
}

Json Context::FailureProblem() const {
  if (kept_problem_) {
    return *kept_problem_;
  }
  return api_ ? api_->last_problem() : Json(nullptr);
}

// ---- Registry

CLI::App* Registry::Add(CLI::App& parent, const std::string& name, const std::string& description,
                        Handler handler) {
  CLI::App* cmd = parent.add_subcommand(name, description);
  handlers_.push_back(std::make_unique<Handler>(std::move(handler)));
  const Handler* h = handlers_.back().get();
  cmd->callback([this, h, cmd] {
    selected_ = h;
    selected_name_ = CommandPath(cmd);
  });
  return cmd;
}

CLI::App* Registry::Group(CLI::App& parent, const std::string& name,
                          const std::string& description) {
  CLI::App* group = parent.add_subcommand(name, description);
  group->require_subcommand(1);
  return group;
}

std::string CommandPath(const CLI::App* app) {
  std::vector<std::string> words;
  for (const CLI::App* a = app; a != nullptr && a->get_parent() != nullptr; a = a->get_parent()) {
    words.push_back(a->get_name());
  }
  std::string out;
  for (auto it = words.rbegin(); it != words.rend(); ++it) {
    if (!out.empty()) {
      out += ' ';
    }
    out += *it;
  }
  return out;
}

// ---- helpers

void AddListFlags(CLI::App* cmd, ListFlags& flags, const std::string& sort_keys, bool search) {
  cmd->add_option("--limit", flags.limit, "how many to show (1-200; server default 50)")
      ->check(CLI::Range(int64_t{1}, int64_t{200}));
  cmd->add_option("--offset", flags.offset, "how many to skip (for paging)")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}));
  cmd->add_option("--sort", flags.sort,
                  "sort key: " + sort_keys + "; prefix - for descending (e.g. -created_at)");
  if (search) {
    cmd->add_option("--q", flags.q, "search text");
  }
}

void AddListQuery(QueryString& qs, const ListFlags& flags) {
  if (flags.limit > 0) {
    qs.Add("limit", flags.limit);
  }
  if (flags.offset > 0) {
    qs.Add("offset", flags.offset);
  }
  qs.Add("sort", flags.sort);
  qs.Add("q", flags.q);
}

namespace {

int64_t IntOr(const Json& obj, const char* key, int64_t fallback) {
  const Json* v = Lookup(obj, key);
  if (v != nullptr && v->is_number_integer()) {
    return v->get<int64_t>();
  }
  return fallback;
}

}  // namespace

Status PrintPage(Context& ctx, const Json& page, const std::vector<Column>& columns,
                 std::string_view noun_plural) {
  if (ctx.json()) {
    ctx.PrintJson(page);
    return Status::Ok();
  }
  const Json* items = Lookup(page, "items");
  if (items == nullptr || !items->is_array()) {
    return Internal("the server sent an invalid response (no list of items)");
  }
  const auto shown = static_cast<int64_t>(items->size());
  const int64_t total = IntOr(page, "total", shown);
  const int64_t offset = IntOr(page, "offset", 0);
  if (shown == 0) {
    if (total > 0) {
      ctx.Print(fmt::format("No {} at offset {} (total: {}).\n", noun_plural, offset, total));
    } else {
      ctx.Print(fmt::format("No {}.\n", noun_plural));
    }
    return Status::Ok();
  }
  ctx.Print(RenderTable(*items, columns));
  if (offset == 0 && shown >= total) {
    ctx.Print(fmt::format("\nTotal: {}\n", total));
  } else if (offset + shown < total) {
    ctx.Print(fmt::format("\nShowing {}-{} of {}. Next page: --offset {}\n", offset + 1,
                          offset + shown, total, offset + shown));
  } else {
    ctx.Print(fmt::format("\nShowing {}-{} of {}.\n", offset + 1, offset + shown, total));
  }
  return Status::Ok();
}

Status PrintObject(Context& ctx, const Json& obj, const std::vector<std::string>& first) {
  if (ctx.json()) {
    ctx.PrintJson(obj);
    return Status::Ok();
  }
  if (!obj.is_object()) {
    return Internal("the server sent an invalid response (not an object)");
  }
  ctx.Print(RenderKeyValues(obj, first));
  return Status::Ok();
}

std::string IdOf(const Json& obj, const char* key) {
  const Json* v = Lookup(obj, key);
  if (v != nullptr && v->is_number_integer()) {
    return std::to_string(v->get<int64_t>());
  }
  if (v != nullptr && v->is_string()) {
    return SanitizeLine(v->get<std::string>(), 40);
  }
  return "?";
}

std::string StringOf(const Json& obj, const char* key) {
  const Json* v = Lookup(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

bool BoolOf(const Json& obj, const char* key) {
  const Json* v = Lookup(obj, key);
  return v != nullptr && v->is_boolean() && v->get<bool>();
}

CLI::Option* BodyFields::String(CLI::App* cmd, const std::string& flag, std::string key,
                                const std::string& help) {
  std::string& v = strings_.emplace_back();
  CLI::Option* opt = cmd->add_option(flag, v, help);
  fields_.push_back({std::move(key), opt, [&v] { return Json(v); }});
  return opt;
}

CLI::Option* BodyFields::Int(CLI::App* cmd, const std::string& flag, std::string key,
                             const std::string& help, int64_t min, int64_t max) {
  int64_t& v = ints_.emplace_back(0);
  CLI::Option* opt = cmd->add_option(flag, v, help)->check(CLI::Range(min, max));
  fields_.push_back({std::move(key), opt, [&v] { return Json(v); }});
  return opt;
}

CLI::Option* BodyFields::Bool(CLI::App* cmd, const std::string& flags, std::string key,
                              const std::string& help) {
  bool& v = bools_.emplace_back(false);
  CLI::Option* opt = cmd->add_flag(flags, v, help);
  fields_.push_back({std::move(key), opt, [&v] { return Json(v); }});
  return opt;
}

CLI::Option* BodyFields::Constant(CLI::App* cmd, const std::string& flag, std::string key,
                                  Json value, const std::string& help) {
  CLI::Option* opt = cmd->add_flag(flag, help);
  fields_.push_back({std::move(key), opt, [value = std::move(value)] { return value; }});
  return opt;
}

bool BodyFields::any() const {
  for (const auto& f : fields_) {
    if (f.option->count() > 0) {
      return true;
    }
  }
  return false;
}

Json BodyFields::Build() const {
  Json body = Json::object();
  for (const auto& f : fields_) {
    if (f.option->count() == 0) {
      continue;
    }
    Json* at = &body;
    std::string_view key = f.key;
    for (size_t dot = key.find('.'); dot != std::string_view::npos; dot = key.find('.')) {
      Json& child = (*at)[std::string(key.substr(0, dot))];
      if (!child.is_object()) {
        child = Json::object();
      }
      at = &child;
      key.remove_prefix(dot + 1);
    }
    (*at)[std::string(key)] = f.value();
  }
  return body;
}

Status NothingToUpdate() {
  return InvalidArgument("nothing to update: name at least one field (see --help)");
}

CLI::Option* AddIdArg(CLI::App* cmd, int64_t& id, const std::string& name,
                      const std::string& what) {
  return cmd->add_option(name, id, what)->required()->check(CLI::Range(int64_t{1}, INT64_MAX));
}

}  // namespace vigil::cli
