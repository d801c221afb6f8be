// HttpClient on Boost.Beast/Asio and OpenSSL (compiled once in asio_impl.cc).
//
// Each client owns a private io_context and at most one connection. Send() starts one
// asynchronous operation at a time (resolve, connect, TLS handshake, write, read) and runs the
// io_context until it completes or the request's deadline passes; past the deadline the socket is
// closed, which makes the pending operation complete at once (aborted). So a server that accepts
// and never answers cannot hold the caller longer than `timeout`. Name resolution runs on Asio's
// internal resolver thread (getaddrinfo cannot be interrupted): past the deadline Send() returns
// and abandons it, its late completion is ignored.
//
// Keep-alive: the connection stays open after a response that allows it and is reused by the next
// request to the same scheme, host and port. Before a reused connection is written to, it is
// polled: if the server has closed it meanwhile (or sent anything unasked), it is replaced by a
// new connection. A request whose write has started is never sent again.

#include "net/http_client.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace vigil::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kHardMaxResponseBytes = size_t{64} << 20;
constexpr size_t kMaxResponseHeaderBytes = 64 << 10;

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), AsciiLower);
  return out;
}

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

// The parts of an absolute http(s) URL a request needs.
struct Url {
  bool tls = false;
  std::string host;         // without the brackets of an IPv6 literal
  std::string port;         // digits
  std::string host_header;  // "host", "host:port", "[::1]:port"
  std::string target;       // "/path?query", never empty
  std::string Origin() const {
    return std::string(tls ? "https://" : "http://") + host_header_with_port();
  }
  std::string host_header_with_port() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  }
};

// Parses "http://host[:port][/path][?query][#fragment]" (or https). Refuses user info, other
// schemes, white space and control characters, a missing host and a port outside 1..65535.
Result<Url> ParseUrl(std::string_view url) {
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f) {
      return InvalidArgument("malformed URL: control character, space or non-ASCII byte");
    }
  }
  Url out;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return InvalidArgument("malformed URL '" + std::string(url) + "': no scheme");
  }
  const std::string scheme = Lower(url.substr(0, sep));
  if (scheme == "https") {
    out.tls = true;
  } else if (scheme != "http") {
    return InvalidArgument("unsupported URL scheme '" + scheme + "' (only http and https)");
  }
  std::string_view rest = url.substr(sep + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgument("malformed URL '" + std::string(url) + "': user info is not supported");
  }
  std::string_view host;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgument("malformed URL '" + std::string(url) + "': unclosed '['");
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return InvalidArgument("malformed URL '" + std::string(url) + "'");
      }
      port = after.substr(1);
    }
    error_code ec;
    asio::ip::make_address_v6(std::string(host), ec);
    if (ec) {
      return InvalidArgument("malformed URL '" + std::string(url) + "': bad IPv6 address");
    }
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
    }
    for (char c : host) {
      const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      c == '-' || c == '.' || c == '_';
      if (!ok) {
        return InvalidArgument("malformed URL '" + std::string(url) + "': bad host name");
      }
    }
  }
  if (host.empty()) {
    return InvalidArgument("malformed URL '" + std::string(url) + "': no host");
  }
  if (port.empty()) {
    port = out.tls ? "443" : "80";
  } else {
    unsigned value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535) {
        return InvalidArgument("malformed URL '" + std::string(url) + "': bad port");
      }
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) {
      return InvalidArgument("malformed URL '" + std::string(url) + "': bad port");
    }
  }
  out.host = std::string(host);
  out.port = std::string(port);
  const std::string bracketed =
      host.find(':') != std::string_view::npos ? "[" + out.host + "]" : Lower(out.host);
  const bool default_port = out.port == (out.tls ? "443" : "80");
  out.host_header = default_port ? bracketed : bracketed + ":" + out.port;
  std::string_view target = tail.substr(0, tail.find('#'));
  out.target =
      (target.empty() || target.front() != '/') ? "/" + std::string(target) : std::string(target);
  return out;
}

// True when `pins` ("sha256//A" or "sha256//A;sha256//B") lists `pin`.
bool PinMatches(std::string_view pins, std::string_view pin) {
  while (!pins.empty()) {
    size_t semi = pins.find(';');
    if (pins.substr(0, semi) == pin) {
      return true;
    }
    pins = semi == std::string_view::npos ? std::string_view() : pins.substr(semi + 1);
  }
  return false;
}

bool PinsWellFormed(std::string_view pins) {
  while (true) {
    size_t semi = pins.find(';');
    std::string_view one = pins.substr(0, semi);
    if (one.substr(0, 8) != "sha256//" || one.size() != 8 + 44) {
      return false;
    }
    if (semi == std::string_view::npos) {
      return true;
    }
    pins = pins.substr(semi + 1);
  }
}

// The result of an asynchronous resolve, shared with its handler so that a resolve abandoned at
// the deadline can complete later without touching freed memory.
struct ResolveState {
  bool done = false;
  error_code ec;
  tcp::resolver::results_type results;
};

}  // namespace

std::string SpkiPin(X509* cert) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) {
    return "";
  }
  int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) {
    return "";
  }
  std::vector<unsigned char> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  i2d_PUBKEY(key, &p);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der.data(), der.size(), digest);
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, digest, sizeof digest);
  return "sha256//" + std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

struct HttpClient::Impl {
  asio::io_context ioc{1};
  tcp::resolver resolver{ioc};
  std::optional<ssl::context> tls_context;  // made at the first https request

  // The open connection, if any: exactly one of plain/tls, to `origin`.
  std::optional<tcp::socket> plain;
  std::optional<ssl::stream<tcp::socket>> tls;
  std::string origin;
  beast::flat_buffer buffer;

  bool connected() const { return plain.has_value() || tls.has_value(); }

  tcp::socket& socket() { return plain ? *plain : tls->next_layer(); }

  void Close() {
    if (connected()) {
      error_code ignored;
      socket().shutdown(tcp::socket::shutdown_both, ignored);
      socket().close(ignored);
    }
    // Handlers of operations on the closed socket are still queued: run them before the objects
    // they refer to go away.
    ioc.restart();
    ioc.poll();
    plain.reset();
    tls.reset();
    origin.clear();
    buffer.clear();
  }

  // True when the server closed the idle connection (or sent something nobody asked for): then
  // it must not be written to.
  bool Stale() {
    if (buffer.size() != 0) {
      return true;
    }
    pollfd p{socket().native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;
  }

  // Runs the io_context until `*done` or `deadline`. On the deadline, closes the connection (the
  // pending socket operation then completes as aborted) and returns false.
  bool Wait(const bool* done, SteadyClock::time_point deadline) {
    ioc.restart();
    while (!*done) {
      if (ioc.run_one_until(deadline) == 0) {
        if (SteadyClock::now() >= deadline) {
          break;
        }
        ioc.restart();  // out of work: cannot happen while an operation is pending
      }
    }
    if (*done) {
      return true;
    }
    error_code ignored;
    socket().close(ignored);
    ioc.restart();
    while (!*done) {
      ioc.run_one();
    }
    return false;
  }

  Status MakeTlsContext(const ClientOptions& options) {
    if (tls_context) {
      return Status::Ok();
    }
    ssl::context ctx(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    error_code ec;
    if (options.ca_file.empty()) {
      ctx.set_default_verify_paths(ec);
    } else {
      ctx.load_verify_file(options.ca_file, ec);
    }
    if (ec && options.verify_tls) {
      return Unavailable("cannot load CA certificates" +
                         (options.ca_file.empty() ? std::string() : " from " + options.ca_file) +
                         ": " + ec.message());
    }
    ctx.set_verify_mode(options.verify_tls ? ssl::verify_peer : ssl::verify_none);
    tls_context.emplace(std::move(ctx));
    return Status::Ok();
  }

  // Opens a new connection to `url` (TLS handshake and pin check included).
  Status Connect(const Url& url, const ClientOptions& options, SteadyClock::time_point deadline) {
    Close();
    const std::string where = url.host_header_with_port();
    tcp::resolver::results_type endpoints;
    error_code ec;
    asio::ip::address address = asio::ip::make_address(url.host, ec);
    if (!ec) {
      endpoints = tcp::resolver::results_type::create(
          tcp::endpoint(address, static_cast<unsigned short>(std::stoi(url.port))), url.host,
          url.port);
    } else {
      auto state = std::make_shared<ResolveState>();
      resolver.async_resolve(url.host, url.port,
                             [state](error_code e, tcp::resolver::results_type r) {
                               state->ec = e;
                               state->results = std::move(r);
                               state->done = true;
                             });
      ioc.restart();
      while (!state->done && ioc.run_one_until(deadline) != 0) {
      }
      if (!state->done) {
        resolver.cancel();  // its handler runs later, harmlessly
        return Unavailable("timed out resolving " + url.host);
      }
      if (state->ec) {
        return Unavailable("cannot resolve " + url.host + ": " + state->ec.message());
      }
      endpoints = std::move(state->results);
    }

    if (url.tls) {
      if (Status s = MakeTlsContext(options); !s.ok()) {
        return s;
      }
      tls.emplace(ioc, *tls_context);
    } else {
      plain.emplace(ioc);
    }
    bool done = false;
    asio::async_connect(socket(), endpoints, [&](error_code e, const tcp::endpoint&) {
      ec = e;
      done = true;
    });
    if (!Wait(&done, deadline)) {
      Close();
      return Unavailable("timed out connecting to " + where);
    }
    if (ec) {
      Close();
      return Unavailable("cannot connect to " + where + ": " + ec.message());
    }
    error_code ignored;
    socket().set_option(tcp::no_delay(true), ignored);

    if (url.tls) {
      SSL* ssl_handle = tls->native_handle();
      error_code not_ip;
      asio::ip::make_address(url.host, not_ip);
      const bool is_ip = !not_ip;
      if (!is_ip) {
        SSL_set_tlsext_host_name(ssl_handle, url.host.c_str());
      }
      if (options.verify_tls) {
        const int ok =
            is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), url.host.c_str())
                  : SSL_set1_host(ssl_handle, url.host.c_str());
        if (ok != 1) {
          Close();
          return Unavailable("cannot set up host name verification for " + url.host);
        }
      }
      done = false;
      tls->async_handshake(ssl::stream_base::client, [&](error_code e) {
        ec = e;
        done = true;
      });
      if (!Wait(&done, deadline)) {
        Close();
        return Unavailable("timed out in the TLS handshake with " + where);
      }
      if (ec) {
        std::string reason = ec.message();
        if (long v = SSL_get_verify_result(ssl_handle); v != X509_V_OK) {  // NOLINT(runtime/int)
          reason += std::string(" (") + X509_verify_cert_error_string(v) + ")";
        }
        Close();
        return Unavailable("TLS handshake with " + where + " failed: " + reason);
      }
      if (!options.pinned_public_key.empty()) {
        X509* cert = SSL_get1_peer_certificate(ssl_handle);
        const std::string pin = cert != nullptr ? SpkiPin(cert) : std::string();
        X509_free(cert);
        if (pin.empty() || !PinMatches(options.pinned_public_key, pin)) {
          Close();
          return Unavailable("the public key of " + where +
                             " does not match the pinned key (it presents " +
                             (pin.empty() ? std::string("none") : pin) + ")");
        }
      }
    }
    origin = url.Origin();
    return Status::Ok();
  }

  // Writes `request` on the open connection. `*wrote_nothing` tells whether no byte left.
  template <typename Request>
  Status Write(Request& request, const std::string& where, SteadyClock::time_point deadline,
               bool* wrote_nothing) {
    bool done = false;
    error_code ec;
    size_t written = 0;
    auto handler = [&](error_code e, size_t n) {
      ec = e;
      written = n;
      done = true;
    };
    if (plain) {
      http::async_write(*plain, request, handler);
    } else {
      http::async_write(*tls, request, handler);
    }
    const bool in_time = Wait(&done, deadline);
    *wrote_nothing = written == 0 && ec != asio::error::operation_aborted;
    if (!in_time) {
      Close();
      return Unavailable("timed out sending the request to " + where);
    }
    if (ec) {
      Close();
      return Unavailable("cannot send the request to " + where + ": " + ec.message());
    }
    return Status::Ok();
  }

  // Reads one final response (skipping 1xx interim responses).
  Result<HttpResponse> Read(bool head, size_t max_body, const std::string& where,
                            SteadyClock::time_point deadline) {
    while (true) {
      http::response_parser<http::string_body> parser;
      parser.header_limit(kMaxResponseHeaderBytes);
      parser.body_limit(max_body);
      parser.skip(head);
      // The header first, then the body: Beast 1.74's eager parse (async_read) does not stop at a
      // Content-Length over body_limit when header and body arrive in one buffer.
      error_code ec;
      for (bool header_only : {true, false}) {
        if (ec || parser.is_done()) {
          break;
        }
        bool done = false;
        auto handler = [&](error_code e, size_t) {
          ec = e;
          done = true;
        };
        if (header_only && plain) {
          http::async_read_header(*plain, buffer, parser, handler);
        } else if (header_only) {
          http::async_read_header(*tls, buffer, parser, handler);
        } else if (plain) {
          http::async_read(*plain, buffer, parser, handler);
        } else {
          http::async_read(*tls, buffer, parser, handler);
        }
        if (!Wait(&done, deadline)) {
          Close();
          return Unavailable("timed out waiting for the response of " + where);
        }
        if (!ec && header_only && !head && parser.content_length().value_or(0) > max_body) {
          ec = http::error::body_limit;
        }
      }
      if (ec == http::error::body_limit) {
        Close();
        return ResourceExhausted("response body larger than " + std::to_string(max_body) +
                                 " bytes");
      }
      if (ec) {
        Close();
        return Unavailable("cannot read the response of " + where + ": " + ec.message());
      }
      auto& message = parser.get();
      const int status = static_cast<int>(message.result_int());
      if (status >= 100 && status < 200 && status != 101) {
        continue;
      }
      HttpResponse response;
      response.status = status;
      for (const auto& field : message) {
        const auto name = field.name_string();
        const auto value = field.value();
        response.headers.emplace_back(Lower({name.data(), name.size()}),
                                      std::string(value.data(), value.size()));
      }
      response.body = std::move(message.body());
      if (!message.keep_alive() || parser.need_eof() || status == 101) {
        Close();
      }
      return response;
    }
  }
};

HttpClient::HttpClient(ClientOptions options)
    : impl_(std::make_unique<Impl>()), options_(std::move(options)) {}

HttpClient::~HttpClient() {
  if (impl_) {
    impl_->Close();
  }
}

Result<HttpResponse> HttpClient::Send(std::string_view method, const std::string& url,
                                      const Headers& headers, std::string_view body) {
  if (!IsToken(method)) {
    return InvalidArgument("malformed HTTP method");
  }
  Result<Url> parsed = ParseUrl(url);
  if (!parsed.has_value()) {
    return parsed.error();
  }
  if (!options_.pinned_public_key.empty() && !PinsWellFormed(options_.pinned_public_key)) {
    return InvalidArgument("pinned public key must be sha256//BASE64 (44 characters)");
  }
  const Url& target = *parsed;
  const bool head = method == "HEAD";

  http::request<http::span_body<const char>> request;
  request.method_string(beast::string_view(method.data(), method.size()));
  request.target(target.target);
  request.version(11);
  bool has_host = false;
  bool has_accept = false;
  for (const auto& [name, value] : headers) {
    if (!IsToken(name) || HasLineBreakOrNul(value)) {
      return InvalidArgument("malformed request header '" + name + "'");
    }
    const std::string lower = Lower(name);
    if (lower == "content-length" || lower == "transfer-encoding" || lower == "connection") {
      continue;  // framing is this client's business
    }
    has_host = has_host || lower == "host";
    has_accept = has_accept || lower == "accept";
    request.insert(name, value);
  }
  if (!has_host) {
    request.set(http::field::host, target.host_header);
  }
  if (!has_accept) {
    request.set(http::field::accept, "*/*");
  }
  request.body() = {body.data(), body.size()};
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    request.content_length(body.size());
  }

  const size_t max_body = std::min(options_.max_response_bytes, kHardMaxResponseBytes);
  const auto deadline = SteadyClock::now() + options_.timeout;
  const std::string where = target.host_header_with_port();
  const std::string origin = target.Origin();
  Impl& impl = *impl_;
  for (int attempt = 0;; ++attempt) {
    bool reused = impl.connected() && impl.origin == origin;
    if (reused && impl.Stale()) {
      impl.Close();
      reused = false;
    }
    if (!reused) {
      if (Status s = impl.Connect(target, options_, deadline); !s.ok()) {
        return s;
      }
    }
    bool wrote_nothing = false;
    if (Status s = impl.Write(request, where, deadline, &wrote_nothing); !s.ok()) {
      // A kept-alive connection the server closed just now: nothing of the request left, so it
      // cannot have been received; one new connection.
      if (reused && wrote_nothing && attempt == 0) {
        continue;
      }
      return s;
    }
    return impl.Read(head, max_body, where, deadline);
  }
}

}  // namespace vigil::net
