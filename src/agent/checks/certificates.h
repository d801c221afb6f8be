#pragma once

// Certificate parsing and evaluation for the agent's `certificates` check: how many days until a
// TLS certificate's notAfter, for PEM files (certificate_files) and for the certificate a TLS
// endpoint presents (certificate_endpoints; the collector fetches it and passes its DER bytes).
//
// Uses OpenSSL's X509 API. Input is untrusted (a file anyone may have written, a server's
// handshake): sizes are bounded, nothing throws or aborts.
//
// Thread safety: free functions without shared state; call from any thread.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"
#include "proto/check.h"

namespace vigil::checks {

inline constexpr size_t kMaxCertificateFileBytes = 1u << 20;

struct CertificateInfo {
  TimePoint not_before;
  TimePoint not_after;
  std::string subject;  // RFC 2253 one-line form, sanitised, at most ~256 bytes
  std::string issuer;
  std::string serial;  // hex
};

// The first certificate of PEM text (a chain file: the leaf comes first; text before the first
// "-----BEGIN CERTIFICATE-----" is skipped, as OpenSSL does).
// Errors: kPayloadTooLarge past kMaxCertificateFileBytes; kInvalidArgument when there is no
// certificate or it does not decode, or its validity times are unreadable.
Result<CertificateInfo> ParsePemCertificate(std::string_view pem);

// One DER-encoded certificate (as sent in a TLS handshake).
// Errors: kInvalidArgument as above, also for trailing bytes after the certificate.
Result<CertificateInfo> ParseDerCertificate(std::string_view der);

// The result for one certificate (target = file path or "host:port"): critical when expired or
// fewer than crit_days days are left, warning when fewer than warn_days, warning when not valid
// yet, otherwise ok. Metric certificate.days_left (d, warn/crit; negative once expired). Details:
// not_after, not_before (RFC 3339), subject, issuer, serial.
proto::CheckResult EvaluateCertificate(const CertificateInfo& cert, TimePoint now, int warn_days,
                                       int crit_days, std::string target);

}  // namespace vigil::checks
