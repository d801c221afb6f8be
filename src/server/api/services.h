#pragma once

// What route handlers are given: the long-lived services of one vigild, wired by App.
// Also the small helpers every handler uses (body decoding, list queries, audit context).

#include <string>

#include "core/clock.h"
#include "core/json.h"
#include "proto/agent_config.h"
#include "server/api/router.h"
#include "server/auth/auth_service.h"
#include "server/device_hub.h"
#include "server/event_hub.h"
#include "server/metrics.h"
#include "storage/accounts_repo.h"
#include "storage/database.h"
#include "storage/devices_repo.h"

namespace vigil::server::api {

struct Services {
  storage::Database& db;
  storage::AccountsRepo& accounts;
  storage::DevicesRepo& devices;
  DeviceHub& hub;
  EventHub& events;  // the live event stream's connections
  AuthService& auth;
  Metrics& metrics;
  const Clock& clock;
  std::string data_dir;      // where backups go
  std::string openapi_json;  // the served document
};

// Parses the request body as a JSON object. Errors: kUnsupportedMediaType unless the content type
// is application/json; kInvalidArgument / kPayloadTooLarge from json::ParseObject.
Result<json::Json> JsonBody(const Ctx& ctx);

// Reads limit/offset/sort/q and the named filters from the query string, refusing unknown
// parameters. Errors: kInvalidArgument naming the parameter.
// Filter values: one of the listed words, or any positive integer id (kAnyId), or any text up to
// 200 characters (kAnyText).
inline const std::vector<std::string_view> kAnyId = {"#id"};
inline const std::vector<std::string_view> kAnyText = {"#text"};
struct ListParams {
  std::vector<std::string_view> sort_keys;
  // filter name → allowed values
  std::vector<std::pair<std::string_view, std::vector<std::string_view>>> filters;
};
Result<storage::ListQuery> ReadListQuery(const Ctx& ctx, const ListParams& params);

template <typename T, typename F>
nlohmann::json PageJson(const storage::Page<T>& page, const storage::ListQuery& q, F&& to_json) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& it : page.items) {
    items.push_back(to_json(it));
  }
  return {
      {"items", std::move(items)}, {"total", page.total}, {"limit", q.limit}, {"offset", q.offset}};
}

// The audit context of the caller of `ctx`.
storage::AuditContext AuditFor(const Ctx& ctx);

inline Reply Ok(nlohmann::json body) { return Reply{200, std::move(body), {}}; }
inline Reply Created(nlohmann::json body) { return Reply{201, std::move(body), {}}; }
inline Reply NoContent() { return Reply{204, nullptr, {}}; }

void RegisterSystemRoutes(Router& router, Services& s);
void RegisterAuthRoutes(Router& router, Services& s);
void RegisterAccountsRoutes(Router& router, Services& s);
void RegisterDeviceRoutes(Router& router, Services& s);  // devices_api.cc
void RegisterAgentRoutes(Router& router, Services& s);   // agent_api.cc
void RegisterEventRoutes(Router& router, Services& s);   // events_api.cc

// The configuration a device runs with: its kind's default, overlaid by the kind's and the
// device's overrides (JSON merge patch), with the combined revision. `device_override`, when
// given, replaces the stored one (to validate a change before storing it).
// Errors: kNotFound outside `scope`; kInvalidArgument naming the wrong fields.
Result<proto::AgentConfig> EffectiveAgentConfig(
    Services& s, DeviceId device, storage::ClientScope scope,
    const std::optional<json::Json>& device_override = std::nullopt);

}  // namespace vigil::server::api
