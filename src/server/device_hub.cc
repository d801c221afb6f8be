#include "server/device_hub.h"

#include <vector>

namespace vigil::server {

uint64_t DeviceHub::Register(DeviceId device, Sender send, Closer close) {
  Closer old;
  uint64_t ticket = 0;
  {
    std::lock_guard lock(mu_);
    ticket = next_ticket_++;
    auto& c = conns_[device];
    old = std::move(c.close);
    c = Conn{ticket, std::move(send), std::move(close)};
  }
  if (old) {
    old();  // outside the lock: closing may call back into Unregister
  }
  return ticket;
}

bool DeviceHub::Unregister(DeviceId device, uint64_t ticket) {
  std::lock_guard lock(mu_);
  auto it = conns_.find(device);
  if (it == conns_.end() || it->second.ticket != ticket) {
    return false;
  }
  conns_.erase(it);
  return true;
}

bool DeviceHub::Send(DeviceId device, std::string text) {
  Sender send;
  {
    std::lock_guard lock(mu_);
    auto it = conns_.find(device);
    if (it == conns_.end()) {
      return false;
    }
    send = it->second.send;
  }
  send(std::move(text));
  return true;
}

void DeviceHub::Close(DeviceId device) {
  Closer close;
  {
    std::lock_guard lock(mu_);
    auto it = conns_.find(device);
    if (it == conns_.end()) {
      return;
    }
    close = it->second.close;
  }
  close();
}

void DeviceHub::Broadcast(const std::function<bool(DeviceId)>& pick, const std::string& text) {
  std::vector<Sender> targets;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, c] : conns_) {
      if (pick(id)) {
        targets.push_back(c.send);
      }
    }
  }
  for (auto& send : targets) {
    send(text);
  }
}

size_t DeviceHub::connected() const {
  std::lock_guard lock(mu_);
  return conns_.size();
}

}  // namespace vigil::server
