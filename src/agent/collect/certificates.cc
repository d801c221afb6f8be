// The `certificates` collector: days until expiry of configured PEM files (certificate_files) and
// of the certificates TLS endpoints present (certificate_endpoints, "host:port"). Endpoints are
// reached with a non-blocking connect and handshake bounded by ctx.timeout, with SNI for host
// names; the chain is not verified (only its leaf's expiry matters here). Parsing and thresholds
// live in checks/certificates.{h,cc}.

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>

#include "agent/checks/certificates.h"
#include "agent/collect/linux_collectors.h"
#include "core/strings.h"

namespace vigil::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;

proto::CheckResult Unknown(std::string target, std::string message) {
  proto::CheckResult r;
  r.check = "certificates";
  r.target = std::move(target);
  r.status = proto::CheckStatus::kUnknown;
  r.message = std::move(message);
  return r;
}

int MillisLeft(SteadyClock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 600'000));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// "host:port" or "[v6]:port" → host, port. False when malformed.
bool SplitHostPort(std::string_view s, std::string& host, std::string& port) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) {
    return false;
  }
  std::string_view h = s.substr(0, colon);
  std::string_view p = s.substr(colon + 1);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') {
      return false;
    }
    h = h.substr(1, h.size() - 2);
  }
  int port_num = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port_num);
  if (ec != std::errc() || ptr != p.data() + p.size() || port_num < 1 || port_num > 65535) {
    return false;
  }
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == ':' || c == '-' || c == '_' || c == '%';
    if (!ok) {
      return false;
    }
  }
  host = std::string(h);
  port = std::string(p);
  return !host.empty() && host.size() <= 253 && host.front() != '-';
}

// A connected TCP socket to host:port, or an error message.
Result<int> Connect(const std::string& host, const std::string& port,
                    SteadyClock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    return Unavailable(fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int n = ::poll(&p, 1, MillisLeft(deadline));
    if (n <= 0) {
      last_error = "timed out";
      ::close(fd);
      continue;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last_error = std::strerror(err);
      ::close(fd);
      continue;
    }
    return fd;
  }
  return Unavailable(last_error);
}

bool IsIpLiteral(const std::string& host) {
  return host.find(':') != std::string::npos ||
         host.find_first_not_of("0123456789.") == std::string::npos;
}

// The DER bytes of the certificate `endpoint` presents.
Result<std::string> FetchCertificate(std::string_view endpoint, SteadyClock::time_point deadline) {
  std::string host;
  std::string port;
  if (!SplitHostPort(endpoint, host, port)) {
    return InvalidArgument("not a valid host:port");
  }
  VIGIL_ASSIGN_OR_RETURN(int raw_fd, Connect(host, port, deadline));
  Fd fd(raw_fd);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  if (!ctx) {
    return Internal("SSL_CTX_new failed");
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  if (!ssl || SSL_set_fd(ssl.get(), fd.get()) != 1) {
    return Internal("SSL_new failed");
  }
  if (!IsIpLiteral(host)) {
    SSL_set_tlsext_host_name(ssl.get(), host.c_str());
  }
  while (true) {
    int rc = SSL_connect(ssl.get());
    if (rc == 1) {
      break;
    }
    int err = SSL_get_error(ssl.get(), rc);
    short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0) {
      unsigned long e = ERR_get_error();
      ERR_clear_error();
      char buf[256] = "TLS handshake failed";
      if (e != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
      }
      return Unavailable(fmt::format("TLS handshake failed: {}", buf));
    }
    pollfd p{fd.get(), events, 0};
    if (::poll(&p, 1, MillisLeft(deadline)) <= 0) {
      return Unavailable("TLS handshake timed out");
    }
  }
  X509* cert = SSL_get1_peer_certificate(ssl.get());
  if (cert == nullptr) {
    return Unavailable("the server sent no certificate");
  }
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  X509_free(cert);
  if (len <= 0 || der == nullptr) {
    return Internal("i2d_X509 failed");
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  // No SSL_shutdown: its close_notify could raise SIGPIPE on a peer that already closed.
  ERR_clear_error();
  return out;
}

class CertificatesCollector final : public Collector {
 public:
  std::string_view name() const override { return "certificates"; }

  std::vector<proto::CheckResult> Collect(const CollectContext& ctx) override {
    const auto& c = ctx.config;
    std::vector<proto::CheckResult> results;
    for (const std::string& file : c.certificate_files) {
      std::string target = SanitizeText(file, 512);
      std::ifstream in(ctx.paths.Path(file), std::ios::binary);
      if (!in) {
        results.push_back(
            Unknown(target, fmt::format("cannot read {}: {}", target, std::strerror(errno))));
        continue;
      }
      std::string pem(checks::kMaxCertificateFileBytes + 1, '\0');
      in.read(pem.data(), static_cast<std::streamsize>(pem.size()));
      pem.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
      auto cert = checks::ParsePemCertificate(pem);
      if (!cert) {
        results.push_back(Unknown(target, fmt::format("{}: {}", target, cert.error().message())));
        continue;
      }
      results.push_back(checks::EvaluateCertificate(*cert, ctx.now, c.certificates_warn_days,
                                                    c.certificates_crit_days, target));
    }
    auto deadline = SteadyClock::now() + ctx.timeout;
    for (const std::string& endpoint : c.certificate_endpoints) {
      std::string target = SanitizeText(endpoint, 300);
      // Each endpoint gets at most 10 s, and never more than what is left of ctx.timeout.
      auto own = std::min(deadline, SteadyClock::now() + std::chrono::seconds(10));
      auto der = FetchCertificate(endpoint, own);
      if (!der) {
        results.push_back(Unknown(
            target, fmt::format("{}: {}", target, SanitizeText(der.error().message(), 250))));
        continue;
      }
      auto cert = checks::ParseDerCertificate(*der);
      if (!cert) {
        results.push_back(Unknown(target, fmt::format("{}: {}", target, cert.error().message())));
        continue;
      }
      results.push_back(checks::EvaluateCertificate(*cert, ctx.now, c.certificates_warn_days,
                                                    c.certificates_crit_days, target));
    }
    return results;
  }
};

}  // namespace

std::unique_ptr<Collector> MakeCertificatesCollector() {
  return std::make_unique<CertificatesCollector>();
}

}  // namespace vigil::agent
