#pragma once

// ApiClient: vigild's JSON API over net::HttpClient, for the `vigil` commands.
//
// Every call sends JSON, authenticates with a bearer API token or with a browser-style session
// (cookie + X-CSRF-Token, used only by `vigil login`), and decodes the answer as untrusted input:
// a body that is not valid JSON never crashes, it becomes kInternal "the server sent an invalid
// response". A non-2xx answer becomes a failed Status whose message is one human line built from
// the problem+json body: the field errors ("name: is already taken") or else the detail, followed
// by the HTTP status ("(409)").
//
// The HTTP status of the last answer (0 when none arrived) and its problem body stay readable
// afterwards, so the caller can choose an exit code and print the body in --json mode.
//
// Thread safety: one ApiClient per thread (it owns one HttpClient).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "net/http.h"
#include "net/http_client.h"

namespace vigil::cli {

using json::Json;

// Builds "?a=1&b=x%20y" from the pairs that have a value; empty when none has one.
class QueryString {
 public:
  QueryString& Add(std::string_view key, std::string_view value);
  QueryString& Add(std::string_view key, int64_t value);
  std::string str() const;

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEncode(std::string_view s);

class ApiClient {
 public:
  // `server` is a normalized base URL (see NormalizeServerUrl).
  ApiClient(std::string server, net::ClientOptions options);

  const std::string& server() const { return server_; }

  // Authenticates later calls with this API token (empty: none).
  void SetToken(std::string token) { token_ = std::move(token); }
  bool has_token() const { return !token_.empty(); }
  // Authenticates later calls with a session cookie and its CSRF token (empty: none).
  void SetSession(std::string cookie, std::string csrf) {
    session_cookie_ = std::move(cookie);
    csrf_token_ = std::move(csrf);
  }

  // Sends `method` to `path` (which starts with '/' and may carry a query string), with `body`
  // as JSON unless it is null. Returns the decoded body of a 2xx answer (null when empty).
  // Errors: kUnavailable when the server cannot be reached or answers 5xx; kInternal when a 2xx
  // body is not valid JSON or the answer is too large; kInvalidArgument when the request cannot
  // be made (malformed URL); for other answers 401 kUnauthenticated, 403 kPermissionDenied,
  // 404 kNotFound, 409 kAlreadyExists, 413 kPayloadTooLarge, 429 kResourceExhausted, and
  // kUnprocessable for the rest (400, 422, redirects, ...): kInvalidArgument is kept for the
  // CLI's own usage errors, so callers can tell those from the server's refusals.
  Result<Json> Call(std::string_view method, std::string_view path, const Json& body = nullptr);

  Result<Json> Get(std::string_view path) { return Call("GET", path); }
  Result<Json> Post(std::string_view path, const Json& body) { return Call("POST", path, body); }
  Result<Json> Patch(std::string_view path, const Json& body) { return Call("PATCH", path, body); }
  Result<Json> Delete(std::string_view path) { return Call("DELETE", path); }

  // About the last call: the HTTP status (0 when no answer arrived), its headers, and the
  // problem body of a failed call (null when it had none or it was not JSON).
  int last_status() const { return last_status_; }
  const net::Headers& last_headers() const { return last_headers_; }
  const Json& last_problem() const { return last_problem_; }

 private:
  std::string server_;
  net::HttpClient http_;
  std::string token_;
  std::string session_cookie_;
  std::string csrf_token_;
  int last_status_ = 0;
  net::Headers last_headers_;
  Json last_problem_;
};

// One line describing a failed answer: "name: is already taken; email: is not valid (409)".
// `body` is the raw answer, parsed here as untrusted input.
std::string DescribeFailure(int status, std::string_view body);

// The value of cookie `name` in the Set-Cookie headers of `headers`, or empty.
std::string FindSetCookie(const net::Headers& headers, std::string_view name);

}  // namespace vigil::cli
