#include "agent/transport/pin.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace vigil::agent::transport {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();  // NOLINT(google-runtime-int): OpenSSL's type
  if (e == 0) {
    return "unknown TLS error";
  }
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// A connected TCP socket with send/receive timeouts, or -1 with `error` set.
int Connect(const ServerAddress& server, std::chrono::milliseconds timeout, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  std::string port = std::to_string(server.port);
  int rc = ::getaddrinfo(server.host.c_str(), port.c_str(), &hints, &list);
  if (rc != 0) {
    *error = "cannot resolve " + server.host + ": " + gai_strerror(rc);
    return -1;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  int fd = -1;
  for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      continue;
    }
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      break;
    }
    *error = "cannot connect to " + server.host + ":" + port + ": " + std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(list);
  return fd;
}

}  // namespace

Result<std::string> FetchPublicKeyPin(const ServerAddress& server, const PinOptions& options) {
  if (!server.tls) {
    return InvalidArgument("only https:// servers have a certificate to pin");
  }
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  if (!ctx) {
    return Internal("cannot create a TLS context: " + OpenSslError());
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (options.verify) {
    int ok = options.ca_file.empty()
                 ? SSL_CTX_set_default_verify_paths(ctx.get())
                 : SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr);
    if (ok != 1) {
      return InvalidArgument("cannot load CA certificates " + options.ca_file + ": " +
                             OpenSslError());
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  std::string error;
  int fd = Connect(server, options.timeout, &error);
  if (fd < 0) {
    return Unavailable(error);
  }
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  if (!ssl) {
    ::close(fd);
    return Internal("cannot create a TLS session: " + OpenSslError());
  }
  SSL_set_fd(ssl.get(), fd);
  bool ip = IsIpAddress(server.host);
  if (!ip) {
    SSL_set_tlsext_host_name(ssl.get(), server.host.c_str());
  }
  if (options.verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, server.host.c_str())
                : X509_VERIFY_PARAM_set1_host(param, server.host.c_str(), 0);
    if (ok != 1) {
      ::close(fd);
      return InvalidArgument("cannot verify host name " + server.host);
    }
  }
  int rc = SSL_connect(ssl.get());
  Result<std::string> out = Unavailable("no certificate");
  if (rc != 1) {
    long verify = SSL_get_verify_result(ssl.get());  // NOLINT(google-runtime-int)
    if (options.verify && verify != X509_V_OK) {
      out = PermissionDenied("the server certificate of " + server.host +
                             " is not trusted: " + X509_verify_cert_error_string(verify));
    } else {
      out = Unavailable("TLS handshake with " + server.host + " failed: " + OpenSslError());
    }
  } else {
    X509* cert = SSL_get1_peer_certificate(ssl.get());
    if (cert == nullptr) {
      out = Unavailable(server.host + " presented no certificate");
    } else {
      std::string pin = SpkiPin(cert);
      X509_free(cert);
      if (pin.empty()) {
        out = Unavailable("cannot read the public key of " + server.host + "'s certificate");
      } else {
        out = pin;
      }
    }
    SSL_shutdown(ssl.get());
  }
  ssl.reset();
  ::close(fd);
  return out;
}

}  // namespace vigil::agent::transport
