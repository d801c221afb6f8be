// `vigil-agent enroll` and `vigil-agent run`: the wiring of the transport (src/agent/transport)
// with the platform's collectors. The logic lives in the transport library; this file parses the
// command line, builds the objects and maps failures to exit codes.
//
// enroll exits 0 enrolled, 1 refused by the server (its problem detail is printed), 2 server
// unreachable or its certificate untrusted, 64 usage, 73 the state folder cannot be written.
// run exits 0 after SIGTERM/SIGINT (or, with --once, when every batch was acknowledged), 1 when
// not enrolled or the credential is refused, 2 when the server stays unreachable (--once), 64
// usage, 73 when the spool cannot be opened.

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/collect/collector.h"
#include "agent/commands.h"
#include "agent/spool/file_system.h"
#include "agent/spool/spool.h"
#include "agent/transport/api.h"
#include "agent/transport/pin.h"
#include "agent/transport/presence.h"
#include "agent/transport/scheduler.h"
#include "agent/transport/sender.h"
#include "agent/transport/state.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/version.h"
#include "proto/agent_config.h"
#include "proto/inventory.h"

namespace vigil::agent {
namespace {

using namespace std::chrono_literals;
using transport::AgentState;

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUnreachable = 2;
constexpr int kExitUsage = 64;
constexpr int kExitCantCreate = 73;
constexpr size_t kMaxConfigFileBytes = 256 << 10;
constexpr auto kInventoryTimeout = 60s;
constexpr auto kOnceDeliveryTimeout = 60s;

struct Flags {
  std::string server;
  std::string token;
  std::string kind;
  std::string ca_file;
  bool insecure = false;
  std::string state_dir{transport::kDefaultStateDir};
  bool once = false;
  bool verbose = false;
};

std::string StripSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  return url;
}

std::string InventoryJson(const ToolRunner& tools) {
  return proto::EncodeInventory(CollectInventory(SystemPaths{}, tools, kInventoryTimeout));
}

int Enroll(const Flags& f) {
  if (f.server.empty() || f.token.empty()) {
    std::fprintf(stderr, "vigil-agent enroll: --server and --token are required\n");
    return kExitUsage;
  }
  if (!f.kind.empty() && !proto::IsDeviceKind(f.kind)) {
    std::fprintf(stderr, "vigil-agent enroll: --kind must be server or workstation\n");
    return kExitUsage;
  }
  std::string url = StripSlashes(f.server);
  auto address = transport::ParseServerUrl(url);
  if (!address.has_value()) {
    std::fprintf(stderr, "vigil-agent enroll: --server: %s\n", address.error().message().c_str());
    return kExitUsage;
  }
  AgentState state;
  state.server_url = url;
  state.kind = f.kind.empty() ? "server" : f.kind;
  state.ca_file = f.ca_file;
  state.verify_tls = !f.insecure;
  if (address->tls) {
    auto pin =
        transport::FetchPublicKeyPin(*address, {.ca_file = f.ca_file, .verify = !f.insecure});
    if (!pin.has_value()) {
      std::fprintf(stderr, "vigil-agent enroll: %s\n", pin.error().message().c_str());
      return pin.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitUnreachable;
    }
    state.pinned_public_key = *pin;
  }
  auto tools = MakeProcessRunner();
  std::string inventory = InventoryJson(*tools);
  std::string hostname;
  if (auto decoded = proto::DecodeInventory(inventory); decoded.has_value()) {
    hostname = decoded->hostname;
  }
  if (hostname.empty()) {
    char buf[256] = {};
    ::gethostname(buf, sizeof buf - 1);
    hostname = buf;
  }
  transport::AgentApi api(url, "", transport::ClientOptionsFor(state));
  auto reply = api.Enroll({f.token, hostname, f.kind, kVersion, inventory});
  if (!reply.has_value()) {
    const Status& e = reply.error();
    bool refused =
        e.code() == ErrorCode::kUnauthenticated || e.code() == ErrorCode::kInvalidArgument;
    std::fprintf(stderr, "vigil-agent enroll: %s: %s\n",
                 refused ? "refused by the server" : "cannot reach the server",
                 e.message().c_str());
    return refused ? kExitRefused : kExitUnreachable;
  }
  state.device_id = reply->device_id;
  state.credential = reply->credential;
  if (Status s = transport::SaveAgentState(f.state_dir, state); !s.ok()) {
    std::fprintf(stderr, "vigil-agent enroll: enrolled as device %lld but %s\n",
                 static_cast<long long>(state.device_id), s.message().c_str());
    return kExitCantCreate;
  }
  if (!reply->config_json.empty()) {
    auto config =
        proto::DecodeAgentConfig(reply->config_json, proto::DefaultAgentConfig(state.kind));
    if (config.has_value()) {
      Status s =
          transport::WritePrivateFile(f.state_dir + "/" + std::string(transport::kConfigFileName),
                                      proto::EncodeAgentConfig(*config));
      if (!s.ok()) {
        std::fprintf(stderr, "vigil-agent enroll: warning: %s\n", s.message().c_str());
      }
    } else {
      std::fprintf(stderr, "vigil-agent enroll: warning: ignoring the server's config: %s\n",
                   config.error().ToString().c_str());
    }
  }
  std::printf("%lld\n", static_cast<long long>(state.device_id));
  std::fprintf(stderr, "enrolled with %s as device %lld; state in %s\n", url.c_str(),
               static_cast<long long>(state.device_id), f.state_dir.c_str());
  return kExitOk;
}

// Fetches the configuration (saving it to config.json), or falls back to config.json, then to
// the kind's default.
proto::AgentConfig LoadConfig(transport::AgentApi& api, const AgentState& state,
                              const std::string& dir) {
  proto::AgentConfig defaults = proto::DefaultAgentConfig(state.kind);
  std::string path = dir + "/" + std::string(transport::kConfigFileName);
  auto fetched = api.GetConfig();
  if (fetched.has_value()) {
    auto config = proto::DecodeAgentConfig(*fetched, defaults);
    if (config.has_value()) {
      Status s = transport::WritePrivateFile(path, proto::EncodeAgentConfig(*config));
      if (!s.ok()) {
        VIGIL_LOG(warn, "cannot save config.json", {{"error", s.ToString()}});
      }
      return *config;
    }
    VIGIL_LOG(err, "server sent an invalid config", {{"error", config.error().ToString()}});
  } else {
    VIGIL_LOG(warn, "cannot fetch config, using the saved one",
              {{"error", fetched.error().ToString()}});
  }
  auto text = transport::ReadSmallFile(path, kMaxConfigFileBytes);
  if (text.has_value()) {
    auto config = proto::DecodeAgentConfig(*text, defaults);
    if (config.has_value()) {
      return *config;
    }
    VIGIL_LOG(err, "ignoring invalid config.json",
              {{"path", path}, {"error", config.error().ToString()}});
  }
  return defaults;
}

transport::SchedulePlan MakePlan(const std::vector<std::unique_ptr<Collector>>& collectors,
                                 const proto::AgentConfig& config) {
  transport::SchedulePlan plan;
  plan.config = std::make_shared<const proto::AgentConfig>(config);
  std::chrono::milliseconds shortest = 60s;
  bool any = false;
  for (const auto& c : collectors) {
    const proto::CheckSchedule& s = config.Schedule(c->name());
    if (!s.enabled) {
      continue;
    }
    plan.checks.push_back({c.get(), s.interval, s.timeout});
    shortest = any ? std::min<std::chrono::milliseconds>(shortest, s.interval)
                   : std::chrono::milliseconds(s.interval);
    any = true;
  }
  plan.batch_interval = shortest;
  return plan;
}

// Sends the inventory when its text changed since the last successful PUT.
class InventoryReporter {
 public:
  InventoryReporter(const AgentState& state, const ToolRunner& tools)
      : api_(state.server_url, state.credential, transport::ClientOptionsFor(state)),
        tools_(tools) {}

  void Report() {
    std::string text = InventoryJson(tools_);
    size_t hash = std::hash<std::string>{}(text);
    std::lock_guard lock(mu_);
    if (sent_hash_ && *sent_hash_ == hash) {
      return;
    }
    Status s = api_.PutInventory(text);
    if (s.ok()) {
      sent_hash_ = hash;
      VIGIL_LOG(info, "inventory sent");
    } else {
      VIGIL_LOG(warn, "cannot send inventory", {{"error", s.ToString()}});
    }
  }

 private:
  std::mutex mu_;
  transport::AgentApi api_;
  const ToolRunner& tools_;
  std::optional<size_t> sent_hash_;
};

int Run(const Flags& f) {
  log::Init(log::Format::kText, f.verbose ? spdlog::level::debug : spdlog::level::info);
  auto loaded = transport::LoadAgentState(f.state_dir);
  if (!loaded.has_value()) {
    std::fprintf(stderr, "vigil-agent run: %s\n", loaded.error().message().c_str());
    return loaded.error().code() == ErrorCode::kUnavailable ? kExitCantCreate : kExitRefused;
  }
  const AgentState state = *loaded;

  // SIGTERM/SIGINT go to one thread that waits for them (blocked everywhere else).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  RealFileSystem fs;
  auto spool = Spool::Open(fs, f.state_dir + "/" + std::string(transport::kSpoolDirName), {});
  if (!spool.has_value()) {
    std::fprintf(stderr, "vigil-agent run: cannot open the spool: %s\n",
                 spool.error().ToString().c_str());
    return kExitCantCreate;
  }
  const SpoolRecovery& rec = (*spool)->recovery();
  VIGIL_LOG(info, "spool opened",
            {{"batches", std::to_string(rec.batches)},
             {"corrupt_removed", std::to_string(rec.corrupt_removed)}});

  std::mutex config_mu;
  transport::AgentApi config_api(state.server_url, state.credential,
                                 transport::ClientOptionsFor(state));
  proto::AgentConfig config = LoadConfig(config_api, state, f.state_dir);

  auto tools = MakeProcessRunner();
  auto collectors = MakePlatformCollectors();
  InventoryReporter inventory(state, *tools);
  SystemClock clock;

  std::atomic<bool> refresh{false};
  std::condition_variable refresh_cv;
  std::mutex refresh_mu;
  auto request_refresh = [&](int64_t revision) {
    VIGIL_LOG(info, "configuration changed on the server",
              {{"revision", std::to_string(revision)}});
    {
      std::lock_guard lock(refresh_mu);
      refresh = true;
    }
    refresh_cv.notify_all();
  };

  transport::SenderOptions sender_options;
  sender_options.agent_version = kVersion;
  sender_options.on_config_revision = request_refresh;
  transport::BatchSender sender(
      **spool,
      std::make_unique<transport::AgentApi>(state.server_url, state.credential,
                                            transport::ClientOptionsFor(state)),
      clock, sender_options);
  sender.SetConfigRevision(config.revision);

  transport::SchedulerOptions options;
  options.clock = &clock;
  options.tools = tools.get();
  options.run = CollectWithTimeout;
  options.emit = [&](std::vector<proto::Observation> observations) {
    Status s = sender.Enqueue(std::move(observations));
    if (!s.ok()) {
      VIGIL_LOG(err, "cannot spool results", {{"error", s.ToString()}});
    }
    // Once a batch interval: give the heap pages freed since the last batch (tool outputs, the
    // previous send) back to the system, so that they do not stay resident until reused (P2).
    malloc_trim(0);
  };
  options.after_check = [&](std::string_view check) {
    if (check == "inventory") {
      inventory.Report();
    }
  };
  transport::Scheduler scheduler(options);
  scheduler.SetPlan(MakePlan(collectors, config));

  std::atomic<bool> stopping{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (!stopping) {
      VIGIL_LOG(info, "stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      stopping = true;
      scheduler.RequestStop();
      sender.Stop();
      refresh_cv.notify_all();
    }
  });
  auto stop_signal_thread = [&] {
    if (!stopping.exchange(true)) {
      pthread_kill(signal_thread.native_handle(), SIGTERM);
    }
    signal_thread.join();
  };

  inventory.Report();

  if (f.once) {
    scheduler.RunOnce();
    sender.Start();
    // A refused credential will not heal by waiting: stop at once then.
    bool drained = false;
    auto deadline = std::chrono::steady_clock::now() + kOnceDeliveryTimeout;
    while (!drained && std::chrono::steady_clock::now() < deadline &&
           sender.last_error().code() != ErrorCode::kUnauthenticated) {
      drained = sender.WaitDrained(std::chrono::milliseconds(250));
    }
    Status last = sender.last_error();
    sender.Stop();
    stop_signal_thread();
    if (drained) {
      std::fprintf(stderr, "vigil-agent run --once: every result was acknowledged\n");
      return kExitOk;
    }
    std::fprintf(stderr, "vigil-agent run --once: results kept in the spool: %s\n",
                 last.ok() ? "interrupted" : last.ToString().c_str());
    return last.code() == ErrorCode::kUnauthenticated ? kExitRefused : kExitUnreachable;
  }

  transport::PresenceOptions presence_options;
  presence_options.on_config = request_refresh;
  transport::PresenceClient presence(state, presence_options);
  presence.Start();
  sender.Start();

  std::thread refresher([&] {
    for (;;) {
      {
        std::unique_lock lock(refresh_mu);
        refresh_cv.wait(lock, [&] { return refresh || stopping; });
        if (stopping) {
          return;
        }
        refresh = false;
      }
      std::lock_guard lock(config_mu);
      proto::AgentConfig fresh = LoadConfig(config_api, state, f.state_dir);
      sender.SetConfigRevision(fresh.revision);
      scheduler.SetPlan(MakePlan(collectors, fresh));
      VIGIL_LOG(info, "checks rescheduled", {{"revision", std::to_string(fresh.revision)}});
    }
  });

  VIGIL_LOG(info, "agent running",
            {{"server", state.server_url}, {"device_id", std::to_string(state.device_id)}});
  scheduler.Run();  // until a signal
  stop_signal_thread();
  refresh_cv.notify_all();
  refresher.join();
  presence.Stop();
  sender.Stop();
  VIGIL_LOG(info, "stopped", {{"spooled", std::to_string((*spool)->size())}});
  return kExitOk;
}

}  // namespace

CommandRunner AddDaemonCommands(CLI::App& app) {
  auto flags = std::make_shared<Flags>();
  auto* enroll = app.add_subcommand("enroll", "enroll this machine with a Vigil server");
  enroll->add_option("--server", flags->server, "server URL, e.g. https://rmm.example.com");
  enroll->add_option("--token", flags->token, "enrollment token (vge_...)");
  enroll->add_option("--kind", flags->kind, "server or workstation (default: the token's)");
  enroll->add_option("--ca-file", flags->ca_file, "PEM file of a private CA to trust");
  enroll->add_flag("--insecure-skip-verify", flags->insecure,
                   "accept any certificate at first contact (tests only; the key is still pinned)");
  enroll->add_option("--state", flags->state_dir, "state folder")->capture_default_str();

  auto* run = app.add_subcommand("run", "run the agent in the foreground");
  run->add_option("--state", flags->state_dir, "state folder")->capture_default_str();
  run->add_flag("--once", flags->once, "run every enabled check once, send, and exit");
  run->add_flag("-v,--verbose", flags->verbose, "debug logging");

  return [enroll, run, flags]() -> std::optional<int> {
    if (enroll->parsed()) {
      return Enroll(*flags);
    }
    if (run->parsed()) {
      return Run(*flags);
    }
    return std::nullopt;
  };
}

}  // namespace vigil::agent
