#include "agent/transport/api.h"

#include <utility>

#include "core/json.h"

namespace vigil::agent::transport {
namespace {

constexpr size_t kMaxReplyBytes = 1 << 20;

std::string ProblemDetail(const net::HttpResponse& response) {
  auto j = json::Parse(response.body, {.max_bytes = 64 << 10});
  if (j.has_value() && j->is_object()) {
    for (const char* key : {"detail", "title"}) {
      auto it = j->find(key);
      if (it != j->end() && it->is_string() && !it->get<std::string>().empty()) {
        std::string text = it->get<std::string>();
        auto errors = j->find("errors");
        if (errors != j->end() && errors->is_array()) {
          for (const auto& e : *errors) {
            if (e.is_object() && e.contains("field") && e["field"].is_string()) {
              text += "; " + e["field"].get<std::string>();
              if (e.contains("detail") && e["detail"].is_string()) {
                text += ": " + e["detail"].get<std::string>();
              }
            }
          }
        }
        return text;
      }
    }
  }
  return "";
}

Status BadReply(std::string_view what, const Status& why) {
  return Unavailable("malformed reply to " + std::string(what) + ": " + why.ToString());
}

}  // namespace

Status StatusForReply(const net::HttpResponse& response) {
  std::string detail = ProblemDetail(response);
  std::string message =
      "HTTP " + std::to_string(response.status) + (detail.empty() ? std::string() : ": " + detail);
  switch (response.status) {
    case 400:
      return InvalidArgument(message);
    case 401:
      return Unauthenticated(message);
    case 413:
      return PayloadTooLarge(message);
    default:
      return Unavailable(message);
  }
}

net::ClientOptions ClientOptionsFor(const AgentState& state) {
  net::ClientOptions o;
  o.ca_file = state.ca_file;
  o.verify_tls = state.verify_tls;
  o.pinned_public_key = state.pinned_public_key;
  o.max_response_bytes = kMaxReplyBytes;
  return o;
}

AgentApi::AgentApi(std::string server_url, std::string credential, net::ClientOptions options)
    : server_url_(std::move(server_url)),
      credential_(std::move(credential)),
      client_(std::move(options)) {}

Result<net::HttpResponse> AgentApi::Call(std::string_view method, std::string_view path,
                                         std::string_view body) {
  net::Headers headers;
  if (!credential_.empty()) {
    headers.emplace_back("Authorization", "Bearer " + credential_);
  }
  if (!body.empty()) {
    headers.emplace_back("Content-Type", "application/json");
  }
  auto res = client_.Send(method, server_url_ + std::string(path), headers, body);
  if (!res.has_value()) {
    if (res.error().code() == ErrorCode::kUnavailable) {
      return res.error();
    }
    return Unavailable(res.error().ToString());
  }
  if (res->status < 200 || res->status > 299) {
    return StatusForReply(*res);
  }
  return res;
}

Result<EnrollReply> AgentApi::Enroll(const EnrollRequest& request) {
  json::Json body = {{"token", request.token},
                     {"hostname", request.hostname},
                     {"agent_version", request.agent_version}};
  if (!request.kind.empty()) {
    body["kind"] = request.kind;
  }
  if (!request.inventory_json.empty()) {
    auto inventory = json::Parse(request.inventory_json, {.max_bytes = 1 << 20});
    if (!inventory.has_value()) {
      return Internal("inventory is not JSON: " + inventory.error().ToString());
    }
    body["inventory"] = std::move(*inventory);
  }
  VIGIL_ASSIGN_OR_RETURN(auto res, Call("POST", "/api/v1/agent/enroll", body.dump()));
  auto j = json::ParseObject(res.body);
  if (!j.has_value()) {
    return BadReply("enroll", j.error());
  }
  json::ObjectReader r(*j);
  EnrollReply reply;
  reply.device_id = r.Int("device_id", 1, INT64_MAX);
  reply.credential = r.String("credential", 1, 512);
  if (const json::Json* config = r.OptObject("config")) {
    reply.config_json = config->dump();
  }
  for (char c : reply.credential) {
    if (c <= ' ' || c == 0x7f) {
      r.AddError("credential", "must not contain spaces or control characters");
      break;
    }
  }
  Status s = r.Finish(json::ObjectReader::Unknown::kIgnore);
  if (!s.ok()) {
    return BadReply("enroll", s);
  }
  return reply;
}

Result<BatchReply> AgentApi::PostBatch(std::string_view payload) {
  VIGIL_ASSIGN_OR_RETURN(auto res, Call("POST", "/api/v1/agent/batches", payload));
  auto j = json::ParseObject(res.body);
  if (!j.has_value()) {
    return BadReply("batch", j.error());
  }
  json::ObjectReader r(*j);
  BatchReply reply;
  reply.sequence = static_cast<uint64_t>(r.Int("sequence", 1, INT64_MAX));
  reply.duplicate = r.Bool("duplicate");
  reply.config_revision = r.OptInt("config_revision", 0, INT64_MAX).value_or(0);
  Status s = r.Finish(json::ObjectReader::Unknown::kIgnore);
  if (!s.ok()) {
    return BadReply("batch", s);
  }
  return reply;
}

Result<std::string> AgentApi::GetConfig() {
  VIGIL_ASSIGN_OR_RETURN(auto res, Call("GET", "/api/v1/agent/config", ""));
  return std::move(res.body);
}

Status AgentApi::PutInventory(std::string_view inventory_json) {
  VIGIL_ASSIGN_OR_RETURN(auto res, Call("PUT", "/api/v1/agent/inventory", inventory_json));
  (void)res;
  return Status::Ok();
}

}  // namespace vigil::agent::transport
