#include "server/event_hub.h"

#include <vector>

#include <nlohmann/json.hpp>

#include "proto/check.h"

namespace vigil::server {
namespace {

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

uint64_t EventHub::Register(Subscriber who, Sender send, Closer close) {
  std::lock_guard lock(mu_);
  uint64_t ticket = next_ticket_++;
  auto scope = who.scope;
  by_scope_[scope].emplace(
      ticket, std::make_shared<const Conn>(Conn{who, std::move(send), std::move(close)}));
  scope_of_.emplace(ticket, scope);
  return ticket;
}

void EventHub::Unregister(uint64_t ticket) {
  std::lock_guard lock(mu_);
  auto it = scope_of_.find(ticket);
  if (it == scope_of_.end()) {
    return;
  }
  auto group = by_scope_.find(it->second);
  if (group != by_scope_.end()) {
    group->second.erase(ticket);
    if (group->second.empty()) {
      by_scope_.erase(group);
    }
  }
  scope_of_.erase(it);
}

size_t EventHub::Publish(ClientId client, const std::string& text) {
  std::vector<std::shared_ptr<const Conn>> targets;
  {
    std::lock_guard lock(mu_);
    for (const std::optional<ClientId>& scope :
         {std::optional<ClientId>(), std::optional(client)}) {
      auto group = by_scope_.find(scope);
      if (group == by_scope_.end()) {
        continue;
      }
      for (const auto& [ticket, conn] : group->second) {
        targets.push_back(conn);
      }
    }
  }
  for (const auto& conn : targets) {
    conn->send(text);
  }
  return targets.size();
}

size_t EventHub::CloseWhere(const std::function<bool(const Subscriber&)>& pick) {
  std::vector<std::shared_ptr<const Conn>> targets;
  {
    std::lock_guard lock(mu_);
    for (const auto& [scope, group] : by_scope_) {
      for (const auto& [ticket, conn] : group) {
        if (pick(conn->who)) {
          targets.push_back(conn);
        }
      }
    }
  }
  for (const auto& conn : targets) {
    conn->close();  // outside the lock: closing may call back into Unregister
  }
  return targets.size();
}

size_t EventHub::CloseSession(SessionId session) {
  return CloseWhere([session](const Subscriber& s) { return s.session == session; });
}

size_t EventHub::CloseUserSessions(UserId user, std::optional<SessionId> keep) {
  return CloseWhere([user, keep](const Subscriber& s) {
    return s.user == user && s.session && s.session != keep;
  });
}

size_t EventHub::CloseUser(UserId user) {
  return CloseWhere([user](const Subscriber& s) { return s.user == user; });
}

size_t EventHub::CloseToken(TokenId token) {
  return CloseWhere([token](const Subscriber& s) { return s.token == token; });
}

size_t EventHub::connected() const {
  std::lock_guard lock(mu_);
  return scope_of_.size();
}

std::string CheckEventJson(const storage::StatusChange& c) {
  return Dump({{"type", "check"},
               {"device_id", Raw(c.device_id)},
               {"client_id", Raw(c.client_id)},
               {"check", c.check},
               {"target", c.target},
               {"status", proto::CheckStatusName(c.to)},
               {"previous",
                c.from ? nlohmann::json(proto::CheckStatusName(*c.from)) : nlohmann::json(nullptr)},
               {"message", c.message},
               {"at", FormatRfc3339(c.at)}});
}

std::string PresenceEventJson(DeviceId device, ClientId client, Presence presence) {
  return Dump({{"type", "presence"},
               {"device_id", Raw(device)},
               {"client_id", Raw(client)},
               {"presence", presence == Presence::kOnline ? "online" : "offline"}});
}

std::string HelloEventJson(TimePoint now) {
  return Dump({{"type", "hello"}, {"server_time", FormatRfc3339(now)}});
}

std::string PongEventJson() { return R"({"type":"pong"})"; }

}  // namespace vigil::server
