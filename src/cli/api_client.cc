#include "cli/api_client.h"

#include <fmt/format.h>

#include "cli/table.h"
#include "core/version.h"

namespace vigil::cli {
namespace {

// Answers are parsed as untrusted input, with room for a full page of audit entries.
json::ParseLimits ResponseLimits() {
  json::ParseLimits limits;
  limits.max_bytes = 32 << 20;
  limits.max_depth = 64;
  return limits;
}

std::string StatusText(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 401:
      return "not authenticated";
    case 403:
      return "permission denied";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 409:
      return "conflict";
    case 413:
      return "request too large";
    case 415:
      return "unsupported media type";
    case 422:
      return "unprocessable";
    case 429:
      return "too many requests; try again later";
    case 500:
      return "internal server error";
    case 502:
      return "bad gateway";
    case 503:
      return "service unavailable";
    case 504:
      return "gateway timeout";
    default:
      return "HTTP error";
  }
}

ErrorCode CodeForStatus(int status) {
  switch (status) {
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kAlreadyExists;
    case 413:
      return ErrorCode::kPayloadTooLarge;
    case 429:
      return ErrorCode::kResourceExhausted;
    default:
      break;
  }
  if (status >= 500) {
    return ErrorCode::kUnavailable;
  }
  // 400, 422 and the rest: the server understood and refused. kInvalidArgument stays reserved for
  // requests the CLI could not make at all.
  return ErrorCode::kUnprocessable;
}

std::string StringAt(const Json& obj, const char* key) {
  if (!obj.is_object()) {
    return "";
  }
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

}  // namespace

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (IsUnreserved(c)) {
      out += c;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

QueryString& QueryString::Add(std::string_view key, std::string_view value) {
  if (!value.empty()) {
    pairs_.emplace_back(std::string(key), std::string(value));
  }
  return *this;
}

QueryString& QueryString::Add(std::string_view key, int64_t value) {
  pairs_.emplace_back(std::string(key), std::to_string(value));
  return *this;
}

std::string QueryString::str() const {
  std::string out;
  for (const auto& [k, v] : pairs_) {
    out += out.empty() ? '?' : '&';
    out += UrlEncode(k);
    out += '=';
    out += UrlEncode(v);
  }
  return out;
}

std::string DescribeFailure(int status, std::string_view body) {
  std::string what;
  auto problem = json::Parse(body, ResponseLimits());
  if (problem && problem->is_object()) {
    auto errors = problem->find("errors");
    if (errors != problem->end() && errors->is_array()) {
      for (const Json& e : *errors) {
        std::string field = StringAt(e, "field");
        std::string detail = StringAt(e, "detail");
        if (field.empty() && detail.empty()) {
          continue;
        }
        if (!what.empty()) {
          what += "; ";
        }
        if (!field.empty()) {
          what += field;
          what += ": ";
        }
        what += detail;
      }
    }
    if (what.empty()) {
      what = StringAt(*problem, "detail");
    }
    if (what.empty()) {
      what = StringAt(*problem, "title");
    }
  }
  if (what.empty()) {
    what = StatusText(status);
  }
  return fmt::format("{} ({})", SanitizeLine(what, 500), status);
}

std::string FindSetCookie(const net::Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k != "set-cookie") {
      continue;
    }
    std::string_view line = v;
    line = line.substr(0, line.find(';'));
    size_t eq = line.find('=');
    if (eq != std::string_view::npos && line.substr(0, eq) == name) {
      return std::string(line.substr(eq + 1));
    }
  }
  return "";
}

ApiClient::ApiClient(std::string server, net::ClientOptions options)
    : server_(std::move(server)), http_(std::move(options)) {}

Result<Json> ApiClient::Call(std::string_view method, std::string_view path, const Json& body) {
  last_status_ = 0;
  last_headers_.clear();
  last_problem_ = nullptr;

  net::Headers headers = {{"Accept", "application/json"},
                          {"User-Agent", std::string("vigil/") + kVersion}};
  std::string payload;
  if (!body.is_null()) {
    payload = body.dump(-1, ' ', false, Json::error_handler_t::replace);
    headers.emplace_back("Content-Type", "application/json");
  }
  if (!token_.empty()) {
    headers.emplace_back("Authorization", "Bearer " + token_);
  }
  if (!session_cookie_.empty()) {
    headers.emplace_back("Cookie", "vigil_session=" + session_cookie_);
    headers.emplace_back("X-CSRF-Token", csrf_token_);
  }

  auto resp = http_.Send(method, server_ + std::string(path), headers, payload);
  if (!resp) {
    const Status& st = resp.error();
    if (st.code() == ErrorCode::kResourceExhausted) {
      return Status(ErrorCode::kInternal, "the server sent a response that is too large");
    }
    if (st.code() == ErrorCode::kInvalidArgument) {
      return InvalidArgument("cannot send the request: " + SanitizeLine(st.message(), 300));
    }
    return Unavailable("cannot reach " + server_ + ": " + SanitizeLine(st.message(), 300));
  }
  last_status_ = resp->status;
  last_headers_ = resp->headers;

  if (resp->status >= 200 && resp->status < 300) {
    if (resp->status == 204 || resp->body.empty()) {
      return Json(nullptr);
    }
    auto parsed = json::Parse(resp->body, ResponseLimits());
    if (!parsed) {
      return Status(ErrorCode::kInternal, "the server sent an invalid response");
    }
    return std::move(parsed).value();
  }

  if (auto problem = json::Parse(resp->body, ResponseLimits()); problem && problem->is_object()) {
    last_problem_ = std::move(problem).value();
  }
  if (resp->status >= 300 && resp->status < 400) {
    std::string location(resp->Header("location").value_or(""));
    return Unprocessable(fmt::format(
        "the server redirects to {} ({}): check the server URL",
        location.empty() ? "another address" : SanitizeLine(location, 200), resp->status));
  }
  return Status(CodeForStatus(resp->status), DescribeFailure(resp->status, resp->body));
}

}  // namespace vigil::cli
