#pragma once

// AgentApi: the agent's HTTP calls to vigild (docs/agent-protocol.md) on net::HttpClient, with
// the server's pinned key and the device credential. Replies are decoded strictly: a 200 whose
// body is not the documented JSON is an error (kUnavailable: the agent keeps the batch and
// retries, a server being upgraded may answer garbage for a moment).
//
// Status mapping of every call: 400 -> kInvalidArgument, 401 -> kUnauthenticated,
// 413 -> kPayloadTooLarge, network errors, timeouts, 5xx and anything unexpected ->
// kUnavailable. The message carries the server's problem detail (RFC 9457 "detail" or "title")
// when it sent one.
//
// Thread safety: one AgentApi per thread (it owns an HttpClient).

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/transport/state.h"
#include "core/status.h"
#include "net/http_client.h"

namespace vigil::agent::transport {

struct EnrollRequest {
  std::string token;
  std::string hostname;
  std::string kind;  // "" = the token's kind
  std::string agent_version;
  std::string inventory_json;  // proto::EncodeInventory text
};

struct EnrollReply {
  int64_t device_id = 0;
  std::string credential;
  std::string config_json;  // the "config" object as JSON text ("" when absent)
};

struct BatchReply {
  uint64_t sequence = 0;
  bool duplicate = false;
  int64_t config_revision = 0;
};

// Client options for `state`: its pin, CA file and verification flag.
net::ClientOptions ClientOptionsFor(const AgentState& state);

class AgentApi {
 public:
  // `server_url` without a trailing slash; `credential` empty for enrollment.
  AgentApi(std::string server_url, std::string credential, net::ClientOptions options);

  // POST /api/v1/agent/enroll. Errors as above; 401 is an unknown, expired or used-up token.
  Result<EnrollReply> Enroll(const EnrollRequest& request);
  // POST /api/v1/agent/batches with one encoded batch.
  Result<BatchReply> PostBatch(std::string_view payload);
  // GET /api/v1/agent/config: the AgentConfig JSON text, for proto::DecodeAgentConfig.
  Result<std::string> GetConfig();
  // PUT /api/v1/agent/inventory.
  Status PutInventory(std::string_view inventory_json);

 private:
  Result<net::HttpResponse> Call(std::string_view method, std::string_view path,
                                 std::string_view body);

  std::string server_url_;
  std::string credential_;
  net::HttpClient client_;
};

// The Status for a non-2xx reply (see the mapping above), quoting its problem detail.
Status StatusForReply(const net::HttpResponse& response);

}  // namespace vigil::agent::transport
