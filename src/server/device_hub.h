#pragma once

// DeviceHub: the devices whose agent holds a WebSocket open to this vigild, and a way to push a
// message to one of them (a configuration change now, commands later).
//
// Presence itself is stored (devices.connected) so every vigild and the API see it; the hub only
// knows this process's connections.
//
// Thread safety: every method may be called from any thread.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "core/ids.h"

namespace vigil::server {

class DeviceHub {
 public:
  using Sender = std::function<void(std::string)>;
  using Closer = std::function<void()>;

  // Registers the connection of `device`, replacing (and closing) an older one. Returns a ticket
  // for Unregister, so a late close of the old connection cannot unregister the new one.
  uint64_t Register(DeviceId device, Sender send, Closer close);
  // Returns true when `ticket` was still the device's current connection.
  bool Unregister(DeviceId device, uint64_t ticket);
  // Sends `text` to the device when connected here. Returns whether it was.
  bool Send(DeviceId device, std::string text);
  // Closes the device's connection (revocation).
  void Close(DeviceId device);
  // Sends `text` to every connected device for which `pick` is true.
  void Broadcast(const std::function<bool(DeviceId)>& pick, const std::string& text);
  size_t connected() const;

 private:
  struct Conn {
    uint64_t ticket = 0;
    Sender send;
    Closer close;
  };
  mutable std::mutex mu_;
  std::map<DeviceId, Conn> conns_;  // guarded by mu_
  uint64_t next_ticket_ = 1;        // guarded by mu_
};

}  // namespace vigil::server
