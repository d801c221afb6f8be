#include "proto/agent_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "core/json.h"

namespace vigil::proto {
namespace {

using json::Json;
using std::chrono::seconds;

constexpr size_t kMaxBytes = 256 * 1024;
constexpr int kMaxDepth = 8;
constexpr size_t kMaxItems = 100;        // entries of any list
constexpr size_t kMaxCommandItems = 64;  // argv entries of a plugin
constexpr size_t kMaxText = 1024;        // characters of any string
constexpr size_t kMaxName = 128;         // names of plugins and reachability targets
constexpr size_t kMaxErrors = 100;

constexpr int64_t kMinInterval = 10;
constexpr int64_t kMaxInterval = 86400;
constexpr int64_t kMinTimeout = 1;
constexpr int64_t kMaxTimeout = 600;
constexpr int64_t kMaxHours = 24 * 366;  // a year
constexpr int64_t kMaxDays = 3650;

const std::vector<std::string_view>& BackupTools() {
  static const std::vector<std::string_view> tools = {"restic", "borg", "marker"};
  return tools;
}

const std::vector<std::string_view>& ReachabilityKinds() {
  static const std::vector<std::string_view> kinds = {"ping", "tcp", "http"};
  return kinds;
}

// ---------------------------------------------------------------------------------------------
// Encoding

Json EncodeSchedule(const CheckSchedule& s) {
  return {{"enabled", s.enabled},
          {"interval_seconds", s.interval.count()},
          {"timeout_seconds", s.timeout.count()}};
}

void PutPercent(Json& j, const PercentThresholds& t, std::string_view warn_key,
                std::string_view crit_key) {
  j[std::string(warn_key)] = t.warn;
  j[std::string(crit_key)] = t.crit;
}

// ---------------------------------------------------------------------------------------------
// Decoding

// The fields of one JSON object, read with an ObjectReader whose errors (with full paths) go to a
// list shared by the whole document.
class Fields {
 public:
  Fields(const Json& j, std::string path, std::vector<FieldError>& errors)
      : prefix_(path.empty() ? "" : path + "."), r_(j, prefix_), errors_(errors) {}
  ~Fields() {
    Status s = r_.Finish();
    errors_.insert(errors_.end(), s.field_errors().begin(), s.field_errors().end());
  }
  Fields(const Fields&) = delete;
  Fields& operator=(const Fields&) = delete;

  json::ObjectReader& r() { return r_; }
  std::string Path(std::string_view name) const { return prefix_ + std::string(name); }
  void Error(std::string_view name, std::string detail) {
    errors_.push_back({Path(name), std::move(detail)});
  }

  // Reads an integer field into `out` when present and valid; returns whether it was present.
  template <typename T>
  bool Int(std::string_view name, int64_t min, int64_t max, T& out) {
    bool present = r_.Has(name);
    if (auto v = r_.OptInt(name, min, max)) {
      out = static_cast<T>(*v);
    }
    return present;
  }

  void Bool(std::string_view name, bool& out) {
    if (auto v = r_.OptBool(name)) {
      out = *v;
    }
  }

  // A percentage: a finite number from 0 to 100.
  void Percent(std::string_view name, double& out) {
    const Json* v = r_.Raw(name);
    if (v == nullptr) {
      return;
    }
    if (!v->is_number()) {
      Error(name, fmt::format("must be a number, not {}", json::TypeName(*v)));
      return;
    }
    double d = v->get<double>();
    if (!std::isfinite(d) || d < 0 || d > 100) {
      Error(name, "must be a number from 0 to 100");
      return;
    }
    out = d;
  }

  void Text(std::string_view name, size_t min_len, std::string& out) {
    if (auto v = r_.OptString(name, min_len, kMaxText)) {
      out = std::move(*v);
    }
  }

  void Strings(std::string_view name, std::vector<std::string>& out) {
    if (auto v = r_.OptStringArray(name, kMaxItems, 1, kMaxText)) {
      out = std::move(*v);
    }
  }

  // An array of at most kMaxItems objects; nullptr (with an error when present) otherwise.
  const Json* ObjectArray(std::string_view name) {
    const Json* v = r_.Raw(name);
    if (v == nullptr) {
      return nullptr;
    }
    if (!v->is_array()) {
      Error(name, fmt::format("must be an array, not {}", json::TypeName(*v)));
      return nullptr;
    }
    if (v->size() > kMaxItems) {
      Error(name, fmt::format("must have at most {} items", kMaxItems));
      return nullptr;
    }
    return v;
  }

  // Warn and crit of a percentage pair, warn <= crit.
  void Thresholds(std::string_view warn_key, std::string_view crit_key, PercentThresholds& t) {
    Percent(warn_key, t.warn);
    Percent(crit_key, t.crit);
    if (t.warn > t.crit) {
      Error(warn_key, fmt::format("must not be above {} ({} > {})", crit_key, t.warn, t.crit));
    }
  }

 private:
  std::string prefix_;
  json::ObjectReader r_;
  std::vector<FieldError>& errors_;
};

// "host:port" with a port from 1 to 65535 and a host of one line ("[::1]:443" for IPv6).
bool IsEndpoint(std::string_view s) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= s.size() ||
      s.size() - colon - 1 > 5) {
    return false;
  }
  int port = 0;
  for (char c : s.substr(colon + 1)) {
    if (c < '0' || c > '9') {
      return false;
    }
    port = port * 10 + (c - '0');
  }
  std::string_view host = s.substr(0, colon);
  if (host.find_first_of(" /") != std::string_view::npos) {
    return false;
  }
  return port >= 1 && port <= 65535;
}

struct Decoder {
  std::vector<FieldError> errors;

  bool TooManyErrors() const { return errors.size() >= kMaxErrors; }

  void DecodeSchedule(Fields& f, CheckSchedule& s) {
    f.Bool("enabled", s.enabled);
    f.Int("interval_seconds", kMinInterval, kMaxInterval, s.interval);
    bool timeout_given = f.Int("timeout_seconds", kMinTimeout, kMaxTimeout, s.timeout);
    if (s.timeout >= s.interval) {
      f.Error(timeout_given ? "timeout_seconds" : "interval_seconds",
              fmt::format("the timeout ({} s) must be less than the interval ({} s)",
                          s.timeout.count(), s.interval.count()));
    }
  }

  void DecodeBackupSource(const Json& j, const std::string& path, BackupSource& b) {
    Fields f(j, path, errors);
    if (!j.is_object()) {
      return;
    }
    b.tool = f.r().Enum("tool", BackupTools());
    b.repository = f.r().String("repository", 1, kMaxText);
    f.Text("password_file", 0, b.password_file);
    if (b.tool == "marker" && !b.password_file.empty()) {
      f.Error("password_file", "is only for restic and borg");
    }
    f.Int("warn_hours", 1, kMaxHours, b.warn_hours);
    f.Int("crit_hours", 1, kMaxHours, b.crit_hours);
    if (b.warn_hours > b.crit_hours) {
      f.Error("warn_hours", "must not be above crit_hours");
    }
  }

  void DecodeTarget(const Json& j, const std::string& path, ReachabilityTarget& t) {
    Fields f(j, path, errors);
    if (!j.is_object()) {
      return;
    }
    t.name = f.r().String("name", 1, kMaxName);
    t.kind = f.r().Enum("kind", ReachabilityKinds());
    t.address = f.r().String("address", 1, kMaxText);
    bool port_given = f.Int("port", 0, 65535, t.port);
    if (t.kind == "tcp" && t.port == 0) {
      f.Error("port", port_given ? "must be from 1 to 65535 for a tcp target"
                                 : "is required for a tcp target");
    } else if (!t.kind.empty() && t.kind != "tcp" && t.port != 0) {
      f.Error("port", "is only for tcp targets");
    }
    if (t.kind == "http" && !t.address.starts_with("http://") &&
        !t.address.starts_with("https://")) {
      f.Error("address", "must be an http:// or https:// URL for an http target");
    }
  }

  void DecodePlugin(const Json& j, const std::string& path, PluginSpec& p) {
    Fields f(j, path, errors);
    if (!j.is_object()) {
      return;
    }
    p.name = f.r().String("name", 1, kMaxName);
    if (!f.r().Has("command")) {
      f.r().Raw("command");
      f.Error("command", "is required");
    } else if (auto cmd = f.r().OptStringArray("command", kMaxCommandItems, 0, kMaxText)) {
      if (cmd->empty() || (*cmd)[0].empty()) {
        f.Error("command", "must start with the plugin's path");
      } else {
        p.command = std::move(*cmd);
      }
    }
  }

  // Decodes the keys of the check `name` (the object `j`) into `c`.
  void DecodeCheck(std::string_view name, const Json& j, const std::string& path, AgentConfig& c) {
    Fields f(j, path, errors);
    if (!j.is_object()) {
      return;
    }
    if (name == "inventory") {
      DecodeSchedule(f, c.inventory_schedule);
    } else if (name == "cpu") {
      DecodeSchedule(f, c.cpu_schedule);
      f.Thresholds("warn_percent", "crit_percent", c.cpu);
    } else if (name == "memory") {
      DecodeSchedule(f, c.memory_schedule);
      f.Thresholds("warn_percent", "crit_percent", c.memory);
    } else if (name == "swap") {
      DecodeSchedule(f, c.swap_schedule);
      f.Thresholds("warn_percent", "crit_percent", c.swap);
    } else if (name == "disk") {
      DecodeSchedule(f, c.disk_schedule);
      f.Thresholds("warn_percent", "crit_percent", c.disk_space);
      f.Thresholds("warn_inodes_percent", "crit_inodes_percent", c.disk_inodes);
      f.Strings("ignore_mounts", c.disk_ignore_mounts);
    } else if (name == "smart") {
      DecodeSchedule(f, c.smart_schedule);
      f.Strings("devices", c.smart_devices);
    } else if (name == "updates") {
      DecodeSchedule(f, c.updates_schedule);
      f.Int("warn_pending", 1, 1'000'000, c.updates_warn_pending);
      f.Int("crit_security", 1, 1'000'000, c.updates_crit_security);
      f.Int("warn_days_since_update", 1, kMaxDays, c.updates_warn_days_since);
    } else if (name == "antivirus") {
      DecodeSchedule(f, c.antivirus_schedule);
      f.Text("database_dir", 1, c.antivirus_database_dir);
      f.Int("warn_hours", 1, kMaxHours, c.antivirus_warn_hours);
      f.Int("crit_hours", 1, kMaxHours, c.antivirus_crit_hours);
      if (c.antivirus_warn_hours > c.antivirus_crit_hours) {
        f.Error("warn_hours", "must not be above crit_hours");
      }
      f.Bool("required", c.antivirus_required);
    } else if (name == "backup") {
      DecodeSchedule(f, c.backup_schedule);
      if (const Json* sources = f.ObjectArray("sources")) {
        std::vector<BackupSource> out(sources->size());
        for (size_t i = 0; i < sources->size() && !TooManyErrors(); ++i) {
          DecodeBackupSource((*sources)[i], fmt::format("{}.sources[{}]", path, i), out[i]);
        }
        c.backup_sources = std::move(out);
      }
    } else if (name == "firewall") {
      DecodeSchedule(f, c.firewall_schedule);
      f.Bool("required", c.firewall_required);
    } else if (name == "services") {
      DecodeSchedule(f, c.services_schedule);
      f.Strings("units", c.services_units);
      f.Int("max_failed_units", 0, 10'000, c.services_max_failed);
    } else if (name == "certificates") {
      DecodeSchedule(f, c.certificates_schedule);
      f.Strings("endpoints", c.certificate_endpoints);
      if (f.r().Has("endpoints")) {
        for (size_t i = 0; i < c.certificate_endpoints.size(); ++i) {
          if (!IsEndpoint(c.certificate_endpoints[i])) {
            f.Error(fmt::format("endpoints[{}]", i), "must be host:port with a port 1 to 65535");
          }
        }
      }
      f.Strings("files", c.certificate_files);
      f.Int("warn_days", 1, kMaxDays, c.certificates_warn_days);
      f.Int("crit_days", 0, kMaxDays, c.certificates_crit_days);
      if (c.certificates_crit_days > c.certificates_warn_days) {
        f.Error("crit_days", "must not be above warn_days (days left before expiry)");
      }
    } else if (name == "reachability") {
      DecodeSchedule(f, c.reachability_schedule);
      if (const Json* targets = f.ObjectArray("targets")) {
        std::vector<ReachabilityTarget> out(targets->size());
        std::set<std::string, std::less<>> names;
        for (size_t i = 0; i < targets->size() && !TooManyErrors(); ++i) {
          std::string tpath = fmt::format("{}.targets[{}]", path, i);
          DecodeTarget((*targets)[i], tpath, out[i]);
          if (!out[i].name.empty() && !names.insert(out[i].name).second) {
            errors.push_back({tpath + ".name", "is a duplicate"});
          }
        }
        c.reachability_targets = std::move(out);
      }
    } else if (name == "plugin") {
      DecodeSchedule(f, c.plugin_schedule);
      if (const Json* plugins = f.ObjectArray("plugins")) {
        std::vector<PluginSpec> out(plugins->size());
        std::set<std::string, std::less<>> names;
        for (size_t i = 0; i < plugins->size() && !TooManyErrors(); ++i) {
          std::string ppath = fmt::format("{}.plugins[{}]", path, i);
          DecodePlugin((*plugins)[i], ppath, out[i]);
          if (!out[i].name.empty() && !names.insert(out[i].name).second) {
            errors.push_back({ppath + ".name", "is a duplicate"});
          }
        }
        c.plugins = std::move(out);
      }
    }
  }

  void DecodeRoot(const Json& j, AgentConfig& c) {
    Fields f(j, "", errors);
    if (!j.is_object()) {
      return;
    }
    f.Int("revision", 0, std::numeric_limits<int64_t>::max(), c.revision);
    const Json* checks = f.r().Raw("checks");
    if (checks == nullptr) {
      return;
    }
    if (!checks->is_object()) {
      f.Error("checks", fmt::format("must be an object, not {}", json::TypeName(*checks)));
      return;
    }
    for (auto it = checks->begin(); it != checks->end() && !TooManyErrors(); ++it) {
      if (!IsCheckName(it.key())) {
        errors.push_back({"checks." + SanitizeKey(it.key()), "is not a known check"});
        continue;
      }
      DecodeCheck(it.key(), it.value(), "checks." + it.key(), c);
    }
  }

  static std::string SanitizeKey(const std::string& key) {
    std::string out;
    for (unsigned char ch : key) {
      if (out.size() >= 64) {
        out += "...";
        break;
      }
      out += (ch >= 0x20 && ch < 0x7F) ? static_cast<char>(ch) : '?';
    }
    return out;
  }
};

}  // namespace

bool IsCheckName(std::string_view name) {
  return std::find(std::begin(kCheckNames), std::end(kCheckNames), name) != std::end(kCheckNames);
}

bool IsDeviceKind(std::string_view kind) {
  return std::find(std::begin(kDeviceKinds), std::end(kDeviceKinds), kind) !=
         std::end(kDeviceKinds);
}

const CheckSchedule& AgentConfig::Schedule(std::string_view name) const {
  static constexpr std::pair<std::string_view, CheckSchedule AgentConfig::*> kSchedules[] = {
      {"inventory", &AgentConfig::inventory_schedule},
      {"cpu", &AgentConfig::cpu_schedule},
      {"memory", &AgentConfig::memory_schedule},
      {"swap", &AgentConfig::swap_schedule},
      {"disk", &AgentConfig::disk_schedule},
      {"smart", &AgentConfig::smart_schedule},
      {"updates", &AgentConfig::updates_schedule},
      {"antivirus", &AgentConfig::antivirus_schedule},
      {"backup", &AgentConfig::backup_schedule},
      {"firewall", &AgentConfig::firewall_schedule},
      {"services", &AgentConfig::services_schedule},
      {"certificates", &AgentConfig::certificates_schedule},
      {"reachability", &AgentConfig::reachability_schedule},
      {"plugin", &AgentConfig::plugin_schedule},
  };
  for (const auto& [check, member] : kSchedules) {
    if (check == name) {
      return this->*member;
    }
  }
  VIGIL_CHECK(false && "AgentConfig::Schedule: not a check name");
  return inventory_schedule;
}

AgentConfig DefaultAgentConfig(std::string_view kind) {
  AgentConfig c;  // servers: the defaults of the header
  if (kind == "workstation") {
    // Workstations are busy in bursts, off at night and updated by their users now and then.
    c.inventory_schedule = {true, seconds(6 * 3600), seconds(60)};
    c.cpu_schedule = {true, seconds(120), seconds(30)};
    c.cpu = {95, 99};
    c.swap = {70, 90};
    c.updates_schedule = {true, seconds(4 * 3600), seconds(120)};
    c.updates_warn_pending = 5;
    c.updates_warn_days_since = 30;
    c.antivirus_warn_hours = 72;
    c.antivirus_crit_hours = 240;
    c.backup_schedule = {true, seconds(3600), seconds(120)};
    c.firewall_required = false;
    c.services_max_failed = 1;
  }
  return c;
}

std::string EncodeAgentConfig(const AgentConfig& c) {
  auto with_schedule = [](const CheckSchedule& s) { return EncodeSchedule(s); };
  Json checks = Json::object();

  checks["inventory"] = with_schedule(c.inventory_schedule);

  Json cpu = with_schedule(c.cpu_schedule);
  PutPercent(cpu, c.cpu, "warn_percent", "crit_percent");
  checks["cpu"] = std::move(cpu);

  Json memory = with_schedule(c.memory_schedule);
  PutPercent(memory, c.memory, "warn_percent", "crit_percent");
  checks["memory"] = std::move(memory);

  Json swap = with_schedule(c.swap_schedule);
  PutPercent(swap, c.swap, "warn_percent", "crit_percent");
  checks["swap"] = std::move(swap);

  Json disk = with_schedule(c.disk_schedule);
  PutPercent(disk, c.disk_space, "warn_percent", "crit_percent");
  PutPercent(disk, c.disk_inodes, "warn_inodes_percent", "crit_inodes_percent");
  disk["ignore_mounts"] = c.disk_ignore_mounts;
  checks["disk"] = std::move(disk);

  Json smart = with_schedule(c.smart_schedule);
  smart["devices"] = c.smart_devices;
  checks["smart"] = std::move(smart);

  Json updates = with_schedule(c.updates_schedule);
  updates["warn_pending"] = c.updates_warn_pending;
  updates["crit_security"] = c.updates_crit_security;
  updates["warn_days_since_update"] = c.updates_warn_days_since;
  checks["updates"] = std::move(updates);

  Json antivirus = with_schedule(c.antivirus_schedule);
  antivirus["database_dir"] = c.antivirus_database_dir;
  antivirus["warn_hours"] = c.antivirus_warn_hours;
  antivirus["crit_hours"] = c.antivirus_crit_hours;
  antivirus["required"] = c.antivirus_required;
  checks["antivirus"] = std::move(antivirus);

  Json backup = with_schedule(c.backup_schedule);
  Json sources = Json::array();
  for (const BackupSource& b : c.backup_sources) {
    sources.push_back({{"tool", b.tool},
                       {"repository", b.repository},
                       {"password_file", b.password_file},
                       {"warn_hours", b.warn_hours},
                       {"crit_hours", b.crit_hours}});
  }
  backup["sources"] = std::move(sources);
  checks["backup"] = std::move(backup);

  Json firewall = with_schedule(c.firewall_schedule);
  firewall["required"] = c.firewall_required;
  checks["firewall"] = std::move(firewall);

  Json services = with_schedule(c.services_schedule);
  services["units"] = c.services_units;
  services["max_failed_units"] = c.services_max_failed;
  checks["services"] = std::move(services);

  Json certificates = with_schedule(c.certificates_schedule);
  certificates["endpoints"] = c.certificate_endpoints;
  certificates["files"] = c.certificate_files;
  certificates["warn_days"] = c.certificates_warn_days;
  certificates["crit_days"] = c.certificates_crit_days;
  checks["certificates"] = std::move(certificates);

  Json reachability = with_schedule(c.reachability_schedule);
  Json targets = Json::array();
  for (const ReachabilityTarget& t : c.reachability_targets) {
    targets.push_back(
        {{"name", t.name}, {"kind", t.kind}, {"address", t.address}, {"port", t.port}});
  }
  reachability["targets"] = std::move(targets);
  checks["reachability"] = std::move(reachability);

  Json plugin = with_schedule(c.plugin_schedule);
  Json plugins = Json::array();
  for (const PluginSpec& p : c.plugins) {
    plugins.push_back({{"name", p.name}, {"command", p.command}});
  }
  plugin["plugins"] = std::move(plugins);
  checks["plugin"] = std::move(plugin);

  Json root = {{"revision", c.revision}, {"checks", std::move(checks)}};
  // Strings come from a decoded configuration or from code; replace rather than throw on a stray
  // invalid byte.
  return root.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<AgentConfig> DecodeAgentConfig(std::string_view text, const AgentConfig& defaults) {
  VIGIL_ASSIGN_OR_RETURN(Json j,
                         json::Parse(text, {.max_bytes = kMaxBytes, .max_depth = kMaxDepth}));
  AgentConfig c = defaults;
  Decoder d;
  d.DecodeRoot(j, c);
  if (d.errors.empty()) {
    return c;
  }
  return FieldsInvalid(std::move(d.errors));
}

}  // namespace vigil::proto
