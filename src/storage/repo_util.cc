#include "storage/repo_util.h"

#include "domain/accounts.h"
#include "domain/validate.h"

namespace vigil::storage {

std::optional<TimePoint> OptTime(const Row& r, size_t i) {
  auto v = r.OptInt(i);
  if (!v) {
    return std::nullopt;
  }
  return FromUnixMillis(*v);
}

// Escapes LIKE wildcards; used with ESCAPE '\'.
std::string LikePattern(std::string_view s) {
  std::string out = "%";
  for (char c : domain::AsciiLower(s)) {
    if (c == '%' || c == '_' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += "%";
  return out;
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Status AppendAudit(Tx& tx, const AuditContext& a, std::string_view action,
                   std::string_view entity_type, std::optional<int64_t> entity_id,
                   std::optional<ClientId> client, const std::string& before,
                   const std::string& after) {
  auto r = tx.Exec(
      "INSERT INTO audit_log (at, actor_type, actor_id, token_id, actor_label, action, "
      "entity_type, entity_id, client_id, before_json, after_json, request_id, remote_address) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {Ms(a.now), std::string(domain::ActorTypeName(a.actor_type)), Opt(a.actor_id),
       Opt(a.token_id), a.actor_label, std::string(action), std::string(entity_type),
       Opt(entity_id), client ? Value(Raw(*client)) : Value(), before, after, a.request_id,
       a.remote_address});
  return r.status();
}

}  // namespace vigil::storage
