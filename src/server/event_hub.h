#pragma once

// EventHub: the browsers (and scripts) holding the live-event WebSocket GET /api/v1/events open to
// this vigild, and a way to push one JSON text message to every connection allowed to see a
// client's data.
//
// Who calls it: App::Upgrade registers each accepted connection and unregisters it when it ends;
// the agent routes publish check changes and App publishes presence; the auth and user routes
// close the connections of sessions, users and tokens that end.
//
// Only this process's connections are known: a change ingested by another vigild reaches only the
// browsers connected to that one (the others see it on their next reload).
//
// Thread safety: every method may be called from any thread. Senders and closers are called
// outside the hub's lock, so they may call back into the hub.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/ids.h"
#include "storage/devices_repo.h"

namespace vigil::server {

class EventHub {
 public:
  using Sender = std::function<void(std::string)>;
  using Closer = std::function<void()>;

  // Whose connection it is.
  struct Subscriber {
    // nullopt: every client (staff); else only this client's events (client roles).
    std::optional<ClientId> scope;
    UserId user{};
    std::optional<SessionId> session;  // opened with a session cookie
    std::optional<TokenId> token;      // opened with an API token
  };

  // Registers a connection. Returns a ticket for Unregister.
  uint64_t Register(Subscriber who, Sender send, Closer close);
  // Forgets the connection; unknown tickets are ignored (idempotent).
  void Unregister(uint64_t ticket);

  // Sends `text` to every connection whose scope includes `client`. Returns how many.
  size_t Publish(ClientId client, const std::string& text);

  // Close the matching connections (the closing handshake starts; on_close unregisters them).
  // Returns how many were asked to close.
  size_t CloseSession(SessionId session);
  // The connections opened with a session of `user`, except `keep` (the session that changed the
  // password, whose other sessions just ended).
  size_t CloseUserSessions(UserId user, std::optional<SessionId> keep);
  // Every connection of `user`, sessions and API tokens (the user was disabled, or their role or
  // client changed).
  size_t CloseUser(UserId user);
  size_t CloseToken(TokenId token);

  size_t connected() const;

 private:
  struct Conn {
    Subscriber who;
    Sender send;
    Closer close;
  };
  size_t CloseWhere(const std::function<bool(const Subscriber&)>& pick);

  mutable std::mutex mu_;
  // scope → ticket → connection; staff under nullopt.
  std::map<std::optional<ClientId>, std::map<uint64_t, std::shared_ptr<const Conn>>>
      by_scope_;                                          // guarded by mu_
  std::map<uint64_t, std::optional<ClientId>> scope_of_;  // guarded by mu_
  uint64_t next_ticket_ = 1;                              // guarded by mu_
};

// The messages of the stream (docs/api.md, "Live events"), each one JSON object:
// {"type":"check","device_id":1,"client_id":2,"check":"disk","target":"/","status":"critical",
//  "previous":"ok"|null,"message":"...","at":"2026-11-22T19:53:03.120Z"}
std::string CheckEventJson(const storage::StatusChange& change);
// {"type":"presence","device_id":1,"client_id":2,"presence":"online"|"offline"}
enum class Presence { kOnline, kOffline };
std::string PresenceEventJson(DeviceId device, ClientId client, Presence presence);
// {"type":"hello","server_time":"2026-11-22T19:53:03.120Z"}
std::string HelloEventJson(TimePoint now);
// {"type":"pong"}
std::string PongEventJson();

}  // namespace vigil::server
