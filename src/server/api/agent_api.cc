// Routes vigil-agent calls (docs/agent-protocol.md): enrollment with a token, then, with the
// device credential, result batches, inventory and configuration. The WebSocket of presence is
// accepted by App::Upgrade; its route here answers plain requests.

#include <fmt/format.h>

#include "core/log.h"
#include "crypto/crypto.h"
#include "proto/agent_config.h"
#include "proto/batch.h"
#include "proto/inventory.h"
#include "server/api/services.h"

namespace vigil::server::api {
namespace {

using nlohmann::json;
using vigil::json::ObjectReader;

constexpr size_t kBatchBodyLimit = (4 << 20) + 4096;
constexpr size_t kEnrollBodyLimit = (1 << 20) + 4096;
constexpr std::string_view kCredentialPrefix = "vgd_";

const std::set<std::string>& KnownChecks() {
  static const std::set<std::string> names(std::begin(proto::kCheckNames),
                                           std::end(proto::kCheckNames));
  return names;
}

// "malformed", "too_large", "stale_timestamp", "unknown_check": the reason label of a refusal.
std::string_view RejectReason(const Status& st) {
  if (st.code() == ErrorCode::kPayloadTooLarge) {
    return "too_large";
  }
  for (const auto& e : st.field_errors()) {
    if (e.field.find("observed_at") != std::string::npos ||
        e.field.find("sent_at") != std::string::npos) {
      return "bad_timestamp";
    }
    if (e.field.find(".check") != std::string::npos) {
      return "unknown_check";
    }
  }
  return "malformed";
}

std::string OsSummary(const proto::Inventory& inv) {
  std::string os = inv.os_name;
  if (!inv.os_version.empty()) {
    os += (os.empty() ? "" : " ") + inv.os_version;
  }
  return os.substr(0, 200);
}

}  // namespace

void RegisterAgentRoutes(Router& router, Services& s) {
  Route enroll{
      "POST", "/api/v1/agent/enroll", {}, true, false, [&s](Ctx& ctx) -> Result<Reply> {
        VIGIL_ASSIGN_OR_RETURN(auto body, JsonBody(ctx));
        ObjectReader r(body);
        std::string token = r.String("token", 1, 200);
        std::string hostname = r.String("hostname", 1, 253);
        std::string kind;
        if (r.Has("kind")) {
          kind = r.Enum("kind", {"server", "workstation"});
        }
        std::string agent_version = r.OptString("agent_version", 0, 64).value_or("");
        const json* inv = r.Raw("inventory");
        VIGIL_RETURN_IF_ERROR(r.Finish());
        storage::EnrollRequest req{hostname, kind, agent_version, "", ""};
        if (inv != nullptr && !inv->is_null()) {
          auto decoded = proto::DecodeInventory(inv->dump());
          if (!decoded) {
            const Status& st = decoded.error();
            Status out(ErrorCode::kInvalidArgument, "invalid inventory");
            for (const auto& e : st.field_errors()) {
              out.WithField("inventory." + e.field, e.detail);
            }
            if (st.field_errors().empty()) {
              out.WithField("inventory", st.message());
            }
            return out;
          }
          req.inventory_json = proto::EncodeInventory(*decoded);
          req.os = OsSummary(*decoded);
        }
        std::string credential = std::string(kCredentialPrefix) + crypto::RandomToken(32);
        storage::AuditContext audit;
        audit.actor_type = domain::ActorType::kSystem;
        audit.now = ctx.now;
        audit.request_id = ctx.request_id;
        audit.remote_address = ctx.req.remote_address;
        auto device =
            s.devices.Enroll(crypto::Sha256Hex(token), req, crypto::Sha256Hex(credential), audit);
        if (!device) {
          s.metrics.Increment("agent_enrollments_refused_total");
          return device.status();
        }
        VIGIL_ASSIGN_OR_RETURN(auto config, EffectiveAgentConfig(s, device->id, std::nullopt));
        VIGIL_LOG(info, "device enrolled",
                  {{"device_id", IdToString(device->id)},
                   {"client_id", IdToString(device->client_id)},
                   {"hostname", device->hostname}});
        return Created({{"device_id", Raw(device->id)},
                        {"client_id", Raw(device->client_id)},
                        {"credential", credential},
                        {"config", json::parse(proto::EncodeAgentConfig(config))}});
      }};
  enroll.max_body_bytes = kEnrollBodyLimit;
  router.Add(std::move(enroll));

  Route batches{
      "POST", "/api/v1/agent/batches", {}, false, false, [&s](Ctx& ctx) -> Result<Reply> {
        auto ct = ctx.req.Header("content-type").value_or("");
        if (ct.substr(0, 16) != "application/json") {
          s.metrics.Increment("agent_batches_rejected_total", "malformed");
          return Status(ErrorCode::kUnsupportedMediaType,
                        "the body must be JSON with Content-Type: application/json");
        }
        auto batch = proto::DecodeBatch(ctx.req.body, ctx.now, {}, &KnownChecks());
        if (!batch) {
          s.metrics.Increment("agent_batches_rejected_total", RejectReason(batch.error()));
          VIGIL_LOG(
              warn, "agent batch refused",
              {{"device_id", IdToString(ctx.device->id)}, {"error", batch.error().message()}});
          return batch.status();
        }
        VIGIL_ASSIGN_OR_RETURN(auto outcome, s.devices.Ingest(ctx.device->id, *batch, ctx.now));
        if (outcome.duplicate) {
          s.metrics.Increment("agent_batches_duplicate_total");
        } else {
          s.metrics.Increment("agent_batches_accepted_total");
          s.metrics.Increment("agent_results_total", {}, static_cast<uint64_t>(outcome.stored));
        }
        // To the browsers connected here that may see the device's client.
        for (const auto& c : outcome.changes) {
          s.events.Publish(c.client_id, CheckEventJson(c));
        }
        // A first report changes every check from "none": one line then, not hundreds.
        if (outcome.changes.size() > 5) {
          VIGIL_LOG(info, "checks changed status",
                    {{"device_id", IdToString(ctx.device->id)},
                     {"count", std::to_string(outcome.changes.size())}});
        } else {
          for (const auto& c : outcome.changes) {
            VIGIL_LOG(info, "check status changed",
                      {{"device_id", IdToString(c.device_id)},
                       {"check", c.check},
                       {"target", c.target},
                       {"from", c.from ? std::string(proto::CheckStatusName(*c.from))
                                       : std::string("none")},
                       {"to", std::string(proto::CheckStatusName(c.to))}});
          }
        }
        return Ok({{"sequence", batch->sequence},
                   {"duplicate", outcome.duplicate},
                   {"config_revision", outcome.config_revision}});
      }};
  batches.device_only = true;
  batches.max_body_bytes = kBatchBodyLimit;
  router.Add(std::move(batches));

  Route inventory{
      "PUT", "/api/v1/agent/inventory", {}, false, false, [&s](Ctx& ctx) -> Result<Reply> {
        VIGIL_RETURN_IF_ERROR(JsonBody(ctx).status());
        VIGIL_ASSIGN_OR_RETURN(auto inv, proto::DecodeInventory(ctx.req.body));
        VIGIL_ASSIGN_OR_RETURN(bool changed,
                               s.devices.PutInventory(ctx.device->id, proto::EncodeInventory(inv),
                                                      OsSummary(inv), inv.hostname, ctx.now));
        return Ok({{"changed", changed}});
      }};
  inventory.device_only = true;
  inventory.max_body_bytes = kEnrollBodyLimit;
  router.Add(std::move(inventory));

  Route config{"GET", "/api/v1/agent/config", {}, false, false, [&s](Ctx& ctx) -> Result<Reply> {
                 VIGIL_ASSIGN_OR_RETURN(auto c,
                                        EffectiveAgentConfig(s, ctx.device->id, std::nullopt));
                 Reply reply = Ok(json::parse(proto::EncodeAgentConfig(c)));
                 return reply;
               }};
  config.device_only = true;
  router.Add(std::move(config));

  Route ws{"GET", "/api/v1/agent/ws", {}, false, false, [](Ctx&) -> Result<Reply> {
             return Status(ErrorCode::kInvalidArgument,
                           "this is a WebSocket endpoint: send an Upgrade: websocket request");
           }};
  ws.device_only = true;
  router.Add(std::move(ws));
}

}  // namespace vigil::server::api
