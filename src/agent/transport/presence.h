#pragma once

// PresenceClient: the agent's WebSocket to vigild (GET /api/v1/agent/ws, docs/agent-protocol.md
// "Presence"). While it is open the device is online.
//
// It connects with the Bearer credential in the upgrade request, over ws:// or wss:// as the
// server URL says; TLS connections verify the certificate (system CAs or the state's ca_file,
// unless verify_tls is false) and, when the state has a pinned key, refuse a certificate whose
// public key has another pin (checked in the handshake's verify callback). It pings every
// ping_interval, closes the connection when nothing arrived for three ping intervals, and
// reconnects with backoff (initial doubling to max, full jitter; reset after a successful
// handshake). Server text frames {"type":"config","revision":N} call on_config; other frames
// are ignored.
//
// Runs on its own thread (Start); Stop() closes the connection and joins.
// Thread safety: Start, Stop and the accessors may be called from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "agent/transport/policy.h"
#include "agent/transport/state.h"
#include "core/status.h"

namespace vigil::agent::transport {

struct PresenceOptions {
  std::chrono::milliseconds ping_interval{30'000};
  std::chrono::milliseconds handshake_timeout{30'000};
  BackoffPolicy backoff;  // 1 s doubling to 5 min
  RandomSource random;    // default SystemRandom()
  // Called on the presence thread for each config frame.
  std::function<void(int64_t revision)> on_config;
};

// The revision of a {"type":"config","revision":N} frame; nullopt for a well-formed frame of
// another type. Errors: kInvalidArgument for anything that is not a JSON object with a string
// "type", or a config frame without a non-negative integer revision.
Result<std::optional<int64_t>> ParsePresenceFrame(std::string_view text);

class PresenceClient {
 public:
  PresenceClient(AgentState state, PresenceOptions options);
  ~PresenceClient();
  PresenceClient(const PresenceClient&) = delete;
  PresenceClient& operator=(const PresenceClient&) = delete;

  void Start();
  void Stop();  // idempotent

  bool connected() const { return connected_; }
  int connects() const { return connects_; }  // successful handshakes so far

 private:
  struct Session;
  void Loop();
  // One connection, from resolve to close. True when the WebSocket handshake succeeded.
  bool RunSession();

  AgentState state_;
  PresenceOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                 // guarded by mu_
  std::shared_ptr<Session> session_;  // guarded by mu_: the live one, for Stop()
  std::atomic<bool> connected_{false};
  std::atomic<int> connects_{0};
  std::thread thread_;
};

}  // namespace vigil::agent::transport
