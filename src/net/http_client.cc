// HttpClient on one libcurl easy handle. curl_easy_reset() between requests clears the options but
// keeps the connection cache, so consecutive requests to one server reuse the connection.

#include "net/http_client.h"
#include "core/strings.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "core/log.h"

namespace vigil::net {
namespace {

constexpr size_t kHardMaxResponseBytes = size_t{64} << 20;

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsToken(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool HasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
      log::Write(spdlog::level::err, "curl_global_init failed",
                 {{"error", curl_easy_strerror(rc)}});
    }
  });
}

// Per-request state the libcurl callbacks write into.
struct Sink {
  HttpResponse* response = nullptr;
  size_t max_body = 0;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * nmemb;
  if (sink->response->body.size() + n > sink->max_body) {
    sink->too_large = true;
    return 0;  // makes libcurl abort the transfer with CURLE_WRITE_ERROR
  }
  sink->response->body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t nitems, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * nitems;
  std::string_view line(data, n);
  if (line.substr(0, 5) == "HTTP/") {
    // A new response starts (after "100 Continue" or a proxy's CONNECT answer): forget earlier
    // headers.
    sink->response->headers.clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return n;  // the blank line ending the header, or a malformed line
  }
  std::string name(TrimSpace(line.substr(0, colon)));
  for (char& c : name) {
    c = AsciiLower(c);
  }
  sink->response->headers.emplace_back(std::move(name),
                                       std::string(TrimSpace(line.substr(colon + 1))));
  return n;
}

}  // namespace

struct HttpClient::Impl {
  CURL* curl = nullptr;
  char error[CURL_ERROR_SIZE] = {};

  ~Impl() {
    if (curl != nullptr) {
      curl_easy_cleanup(curl);
    }
  }
};

HttpClient::HttpClient(ClientOptions options)
    : impl_(std::make_unique<Impl>()), options_(std::move(options)) {
  GlobalInitOnce();
  impl_->curl = curl_easy_init();
}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::Send(std::string_view method, const std::string& url,
                                      const Headers& headers, std::string_view body) {
  CURL* curl = impl_->curl;
  if (curl == nullptr) {
    return Internal("libcurl could not create a handle");
  }
  if (!IsToken(method)) {
    return InvalidArgument("malformed HTTP method");
  }
  if (url.empty() || HasLineBreakOrNul(url)) {
    return InvalidArgument("malformed URL");
  }

  curl_slist* header_list = nullptr;
  struct SlistFree {
    curl_slist*& list;
    ~SlistFree() { curl_slist_free_all(list); }
  } free_headers{header_list};
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    if (!IsToken(name) || HasLineBreakOrNul(value)) {
      return InvalidArgument("malformed request header '" + name + "'");
    }
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), AsciiLower);
    has_content_type = has_content_type || lower == "content-type";
    // "Name;" is libcurl's way to send a header with an empty value.
    std::string line = name;
    if (value.empty()) {
      line += ';';
    } else {
      line += ": ";
      line += value;
    }
    curl_slist* appended = curl_slist_append(header_list, line.c_str());
    if (appended == nullptr) {
      return Internal("out of memory building request headers");
    }
    header_list = appended;
  }
  // No "Expect: 100-continue" round trip, and no invented form content type.
  for (const char* line : {"Expect:", has_content_type ? nullptr : "Content-Type:"}) {
    if (line == nullptr) {
      continue;
    }
    curl_slist* appended = curl_slist_append(header_list, line);
    if (appended == nullptr) {
      return Internal("out of memory building request headers");
    }
    header_list = appended;
  }

  HttpResponse response;
  Sink sink{&response, std::min(options_.max_response_bytes, kHardMaxResponseBytes), false};
  const long timeout_ms =
      static_cast<long>(options_.timeout.count());  // NOLINT(google-runtime-int)

  curl_easy_reset(curl);
  impl_->error[0] = '\0';
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, impl_->error);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(sink.max_body));

  if (method == "GET" && body.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    const std::string method_str(method);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_str.c_str());  // libcurl copies it
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
      // Not copied: `body` outlives the transfer. Never NULL, which would mean "use the read
      // callback" (stdin).
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
    }
  }

  if (!options_.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
  }
  if (!options_.verify_tls) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!options_.pinned_public_key.empty()) {
    curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, options_.pinned_public_key.c_str());
  }

  const CURLcode rc = curl_easy_perform(curl);
  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    return ResourceExhausted("response body larger than " + std::to_string(sink.max_body) +
                             " bytes");
  }
  if (rc != CURLE_OK) {
    std::string detail = impl_->error[0] != '\0' ? impl_->error : curl_easy_strerror(rc);
    switch (rc) {
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return InvalidArgument(std::move(detail));
      default:
        return Unavailable(std::move(detail));
    }
  }
  long status = 0;  // NOLINT(google-runtime-int): libcurl's type
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace vigil::net
