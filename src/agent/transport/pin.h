#pragma once

// Public-key pinning of the Vigil server (docs/agent-protocol.md, "Identity"): at enrollment the
// agent connects once with OpenSSL, verifies the certificate (system CAs, or --ca-file, unless
// verification is disabled for tests), and records "sha256//" + base64(SHA-256 of the DER
// SubjectPublicKeyInfo) of the server's certificate (the form of curl's --pinnedpubkey).
// Every later connection (HttpClient, the WebSocket) refuses another key.
//
// Thread safety: free functions.

#include <chrono>
#include <string>

#include "agent/transport/state.h"
#include "core/status.h"
#include "net/http_client.h"

namespace vigil::agent::transport {

// "sha256//BASE64" of `cert`'s public key (net::SpkiPin, shared with the HTTP client).
using net::SpkiPin;

struct PinOptions {
  std::string ca_file;  // PEM bundle to trust instead of the system's ("" = system)
  bool verify = true;   // false: accept any certificate (tests only)
  std::chrono::milliseconds timeout{15'000};
};

// Connects to `server` (which must be https), completes a TLS handshake and returns the pin of
// the certificate it presented.
// Errors: kInvalidArgument for a non-TLS address; kUnavailable when the server cannot be reached
// or the handshake fails; kPermissionDenied when the certificate is not trusted (the message
// carries OpenSSL's reason).
Result<std::string> FetchPublicKeyPin(const ServerAddress& server, const PinOptions& options);

}  // namespace vigil::agent::transport
